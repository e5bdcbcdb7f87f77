"""docs/metric-attribution.md: its example runs against a real server and prints what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.server import RunningServer
from tests.docs.markdown import DOCS, code_blocks, runnable

DOC = DOCS / "metric-attribution.md"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path / "data").start()
    yield running
    running.stop()


def test_example_prints_the_documented_values(server: RunningServer, tmp_path: Path) -> None:
    (block,) = runnable(DOC, "metric-attribution")
    script = tmp_path / "example.py"
    script.write_text(block.code.replace("http://127.0.0.1:8080", server.url))
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = sorted(result.stdout.split("\n")[:-1])
    text_blocks = [b.code for b in code_blocks(DOC) if b.language == "text"]
    documented = next(t for t in text_blocks if t.startswith("CLICKS "))
    assert printed == sorted(documented.split("\n")[:-1])
    assert re.search(r"^openpersonalize_put_events_accepted_total 4$", _metrics(server), re.M)


def _metrics(server: RunningServer) -> str:
    import httpx

    return httpx.get(server.url + "/metrics", timeout=10).text
