"""``openpersonalize serve``: the HTTP server, its job workers and the scheduler."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from openpersonalize.api import attribution
from openpersonalize.api.app import create_app, is_loopback
from openpersonalize.controlplane.context import Context, make_context
from openpersonalize.jobs import load_job_modules, worker
from openpersonalize.jobs.scheduler import Scheduler
from openpersonalize.settings import SETTINGS, Config

log = logging.getLogger("openpersonalize")
EVENT_LOG_COMPACT_SECONDS = 2.0


class ConfigError(Exception):
    pass


def check_security(config: Config) -> None:
    if not is_loopback(config.host) and not config.credentials():
        raise ConfigError(
            f"Refusing to listen on {config.host}: a non-loopback address needs access keys. "
            "Set --access-keys KEY:SECRET (or OPENPERSONALIZE_ACCESS_KEYS) so that request "
            "signatures can be verified."
        )


def check_metadata_store(config: Config) -> None:
    """Refuses a ``metadata_url``: only the SQLite store in the data directory is built, and
    silently writing elsewhere than the user asked would lose track of their resources."""
    if config.metadata_url:
        raise ConfigError(
            f"metadata_url is set ({config.metadata_url.split('@')[-1]}), but only the SQLite "
            "metadata store in data_dir is built; PostgreSQL is not supported yet "
            "(docs/differences.md). Unset --metadata-url / OPENPERSONALIZE_METADATA_URL."
        )


# The thread pools of the numeric libraries a job may use (OpenBLAS, MKL, OpenMP: numpy, scipy,
# implicit, torch), read once when each library loads.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker_threads(workers: int, cpus: int | None = None) -> int:
    """Threads per worker process: the machine's cores shared out among the workers."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // max(1, workers))


def worker_environment(config: Config) -> dict[str, str]:
    """The environment of the worker processes: the settings, the server's pid and, with several
    workers, thread pools sized to their share of the cores (unless set already). Each library
    otherwise starts a thread per core in every worker, and their spin-waiting threads take the
    cores from each other: two workers on two cores trained the reference data sets with 2-10×
    the CPU time (segmentation recipes 10×, user-personalization 2×)."""
    env = dict(os.environ)
    for setting in SETTINGS:
        value = getattr(config, setting.name)
        env[setting.env] = str(value).lower() if isinstance(value, bool) else str(value)
    env[worker.SERVER_PID_ENV] = str(os.getpid())  # workers exit if the server is killed
    if config.workers > 1:
        threads = str(worker_threads(config.workers))
        for name in THREAD_ENV:
            env.setdefault(name, threads)
    return env


def attach_inline_jobs(ctx: Context) -> None:
    """The test seam: jobs run in a background thread of this process as soon as enqueued."""
    lock = threading.Lock()

    def run_now(job_id: int) -> None:
        def drain() -> None:
            with lock:
                while worker.run_one(ctx, f"inline:{os.getpid()}"):
                    pass

        threading.Thread(target=drain, daemon=True).start()

    ctx.on_enqueue = run_now


@contextmanager
def workers(config: Config) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "openpersonalize", "worker"], env=worker_environment(config)
        )
        for _ in range(0 if config.inline_jobs else config.workers)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def single_threaded_blas() -> None:
    """One BLAS thread per call in the server process: requests run in parallel on the thread
    pool and each one's matrix-vector product is small, so BLAS's own threads only contend
    (measured: 16 concurrent GetRecommendations on 2 cores, 10 → 116 requests/s on a loaded
    machine). Training runs in the worker processes, which keep their BLAS threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default threads
        return
    threadpool_limits(limits=1, user_api="blas")


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(config: Config) -> None:
    check_security(config)
    check_metadata_store(config)
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    ctx = make_context(config)
    if config.inline_jobs:
        attach_inline_jobs(ctx)
    load_job_modules()  # their scheduled tasks (e.g. the log side of data deletions) run here
    scheduler = Scheduler(ctx)
    app = create_app(ctx)
    if not config.inline_jobs:
        single_threaded_blas()
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default handler
    # that would kill this process before the cleanup below (worker processes were orphaned).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # The server process owns the real-time logs: compact them in the background, and close
    # them (releasing their locks) after the last request.
    ctx.event_log.start_compactor(EVENT_LOG_COMPACT_SECONDS)
    with workers(config):
        scheduler.start()
        try:
            uvicorn.run(
                app,
                host=config.host,
                port=config.port,
                log_level="warning" if config.log_level == "info" else config.log_level,
                access_log=False,
            )
        finally:
            scheduler.stop()
            attribution.close(ctx)  # commit the last metric attribution aggregates
            ctx.event_log.close()


def run_worker(config: Config) -> None:
    check_metadata_store(config)
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    worker.serve_forever(make_context(config))
