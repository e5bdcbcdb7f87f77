"""Every quickstart runs: its ``title="quickstart"`` blocks, in order, against a real server.

Shell blocks run first with bash in a fresh folder (they generate the data, or — in the CLI
quickstart — are the whole workflow); then the Python or JavaScript blocks run as one script,
exactly as a reader who pasted them into a file would run it. The endpoint the documents use,
``http://127.0.0.1:8080``, is replaced by the test server's.

The JavaScript quickstart needs node and npm: the AWS SDK packages are installed with ``npm ci``
into ``tests/js/node_modules`` from the committed ``tests/js/package-lock.json`` (once; a stamp
file remembers the lock file's hash).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.server import RunningServer
from tests.docs.markdown import DOCS, ROOT, CodeBlock, runnable

DOCS_ENDPOINT = "http://127.0.0.1:8080"
JS_DIR = ROOT / "tests" / "js"
SCRIPT_TIMEOUT = 150


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # The documents' default minimums hold for their data; keep them as a reader's server has.
    running = RunningServer(
        tmp_path / "data",
        settings={"min_import_records": 1000, "min_interactions": 1000, "min_users_with_two": 25},
    ).start()
    yield running
    running.stop()


def environment() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "OPENPERSONALIZE_")) and k != "NODE_OPTIONS"
    }
    # `openpersonalize` and `aws` from this virtual environment.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def run(command: list[str], cwd: Path, what: str) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
    )
    assert result.returncode == 0, (
        f"{what} failed ({result.returncode}):\n--- stdout\n{result.stdout[-4000:]}"
        f"\n--- stderr\n{result.stderr[-4000:]}"
    )
    return result.stdout


def split(doc: str, language: str) -> tuple[list[CodeBlock], list[CodeBlock]]:
    """The shell blocks and the ``language`` blocks; every shell block comes first."""
    blocks = runnable(DOCS / doc)
    assert blocks, f'docs/{doc} has no blocks marked title="quickstart"'
    unknown = {b.language for b in blocks} - {"sh", language}
    assert not unknown, f"docs/{doc}: runnable blocks in {unknown}"
    shell = [b for b in blocks if b.language == "sh"]
    code = [b for b in blocks if b.language == language and language != "sh"]
    if code:
        first_code = blocks.index(code[0])
        assert all(blocks.index(b) < first_code for b in shell), (
            f"docs/{doc}: shell blocks must come before the {language} blocks"
        )
    return shell, code


def script(blocks: list[CodeBlock], server: RunningServer) -> str:
    return "\n\n".join(b.code for b in blocks).replace(DOCS_ENDPOINT, server.url)


def run_shell(blocks: list[CodeBlock], server: RunningServer, cwd: Path, doc: str) -> str:
    path = cwd / "quickstart.sh"
    path.write_text("set -euo pipefail\n" + script(blocks, server))
    return run(["bash", str(path)], cwd, f"the shell blocks of docs/{doc}")


def test_boto3_quickstart(server: RunningServer, tmp_path: Path) -> None:
    shell, python = split("quickstart-boto3.md", "python")
    run_shell(shell, server, tmp_path, "quickstart-boto3.md")
    path = tmp_path / "quickstart.py"
    path.write_text(script(python, server))
    out = run([sys.executable, str(path)], tmp_path, "docs/quickstart-boto3.md")
    assert "precision_at_10" in out
    assert "after PutEvents:" in out
    assert "not yet watched:" in out


def test_cli_quickstart(server: RunningServer, tmp_path: Path) -> None:
    shell, _ = split("quickstart-cli.md", "sh")
    out = run_shell(shell, server, tmp_path, "quickstart-cli.md")
    assert '"itemList"' in out
    assert "precision_at_10" in out


def _npm_install() -> None:
    lock = (JS_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()
    stamp = JS_DIR / "node_modules" / ".openpersonalize-lock-sha256"
    if stamp.is_file() and stamp.read_text() == digest:
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    stamp.write_text(digest)


def test_javascript_quickstart(server: RunningServer, tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run docs/quickstart-javascript.md")
    shell, js = split("quickstart-javascript.md", "js")
    _npm_install()
    run_shell(shell, server, tmp_path, "quickstart-javascript.md")
    # ES modules resolve packages from the script's own folder: put it beside node_modules.
    path = JS_DIR / f"quickstart-{uuid.uuid4().hex[:8]}.mjs"
    path.write_text(script(js, server))
    try:
        out = run(["node", str(path)], tmp_path, "docs/quickstart-javascript.md")
    finally:
        path.unlink(missing_ok=True)
    assert "precision_at_10" in out
    assert "after PutEvents:" in out
    assert "not yet watched:" in out
