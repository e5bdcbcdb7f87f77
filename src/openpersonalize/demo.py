"""``openpersonalize demo``: the custom and the domain workflow end to end, through boto3.

Every step is a call a user's own code would make, through real ``personalize``,
``personalize-runtime`` and ``personalize-events`` clients pointed at the server by endpoint URL:
nothing here reaches into the server's internals. The data comes from the project's synthetic
generator (:mod:`openpersonalize.datasets`), written as CSV files the server imports.

Without ``--endpoint-url`` the demo starts ``openpersonalize serve`` as a child process on a
loopback port with its own data directory, and stops it on Ctrl-C. The default size meets Amazon
Personalize's minimums (1,000 records per import, 1,000 interactions, 1,000 ``Purchase`` and
``View`` events for the ECOMMERCE use cases), so the server runs with its default settings.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from openpersonalize.demo_workflows import DemoError, DemoRun, Size, run_workflows

SIZES: dict[str, Size] = {
    # Meets every minimum of Amazon Personalize: the server keeps its default settings.
    "small": Size(n_users=1_000, n_items=1_000, n_interactions=20_000),
    "medium": Size(n_users=5_000, n_items=3_000, n_interactions=150_000),
}
DEFAULT_PORT = 8080
SERVER_START_SECONDS = 60.0


@dataclass(frozen=True)
class DemoOptions:
    endpoint_url: str | None
    port: int | None
    data_dir: str | None
    size: str
    seed: int
    wait: bool
    workers: int


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


class ChildServer:
    """``openpersonalize serve`` in a child process, its output in ``<data_dir>/server.log``."""

    def __init__(
        self, data_dir: Path, port: int, settings: Mapping[str, str], temporary: bool = False
    ) -> None:
        self.data_dir = data_dir
        self.temporary = temporary
        self.port = port
        self.settings = dict(settings)
        self.log_path = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # The demo decides the server's settings; stray OPENPERSONALIZE_* variables do not.
        for name in [k for k in env if k.startswith("OPENPERSONALIZE_")]:
            del env[name]
        env.update({f"OPENPERSONALIZE_{k.upper()}": v for k, v in self.settings.items()})
        env["OPENPERSONALIZE_HOST"] = "127.0.0.1"
        env["OPENPERSONALIZE_PORT"] = str(self.port)
        env["OPENPERSONALIZE_DATA_DIR"] = str(self.data_dir)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "openpersonalize", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Ctrl-C in the terminal goes to the demo, which stops the server in order.
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise DemoError(f"the server exited during start-up:\n{tail}")
            if _healthy(self.url):
                return
            time.sleep(0.1)
        self.stop()
        raise DemoError(f"the server did not answer {self.url}/health in {SERVER_START_SECONDS} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextmanager
def _server(options: DemoOptions, console: Console) -> Iterator[tuple[str, ChildServer | None]]:
    """The endpoint to use, and the child server when the demo started one."""
    if options.endpoint_url:
        url = options.endpoint_url.rstrip("/")
        if not _healthy(url):
            raise DemoError(f"no openpersonalize server answers at {url}/health")
        yield url, None
        return
    temporary = options.data_dir is None
    data_dir = (
        Path(tempfile.mkdtemp(prefix="openpersonalize-demo-"))
        if options.data_dir is None
        else Path(options.data_dir).resolve()
    )
    port = options.port
    if port is None:
        port = DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else _free_port()
    settings = {"workers": str(options.workers)}
    server = ChildServer(data_dir, port, settings, temporary)
    with console.status(f"Starting openpersonalize serve on {server.url} …"):
        server.start()
    console.print(
        f"[green]✓[/] server [bold]{server.url}[/] (data directory {data_dir}, "
        f"log {server.log_path.name})"
    )
    try:
        yield server.url, server
    finally:
        server.stop()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)


def _wait_for_interrupt() -> None:
    stop = False

    def handler(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGINT, handler)
    previous_term = signal.signal(signal.SIGTERM, handler)
    try:
        while not stop:
            time.sleep(0.2)
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


def run(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo; the exit status of the command."""
    console = console or Console()
    if options.size not in SIZES:
        console.print(f"[bold red]unknown size {options.size!r}[/]; choose {', '.join(SIZES)}")
        return 2
    size = SIZES[options.size]
    started = time.monotonic()
    try:
        with _server(options, console) as (url, child):
            with tempfile.TemporaryDirectory(prefix="openpersonalize-demo-input-") as input_dir:
                demo = DemoRun(url, Path(input_dir), size, options.seed, console)
                run_workflows(demo)
            elapsed = time.monotonic() - started
            console.print(f"\n[bold green]Demo finished in {elapsed:.0f} s.[/]")
            console.print(f"Web console: [bold link={url}/console]{url}/console[/]")
            if child is None or not options.wait:
                return 0
            console.print(
                "The server keeps running: open the console, or point boto3 / the AWS CLI at "
                f"{url}. Press [bold]Ctrl-C[/] to stop it."
            )
            if child.temporary:
                console.print(
                    f"[dim]Its data directory {child.data_dir} is temporary and removed then; "
                    "run the demo with --data-dir to keep it.[/]"
                )
            _wait_for_interrupt()
            console.print("Stopping the server …")
            return 0
    except DemoError as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        return 1
