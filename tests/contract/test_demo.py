"""``openpersonalize demo`` end to end: it starts its own server, runs both workflows through
boto3 on the default (Personalize-minimum-meeting) synthetic data, prints the results and exits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.contract.server import free_port


def demo(*args: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENPERSONALIZE_"))}
    env["COLUMNS"] = "160"  # rich wraps at 80 columns when it is not writing to a terminal
    return subprocess.run(
        [sys.executable, "-m", "openpersonalize", "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_runs_both_workflows_and_exits(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "demo-data"
    result = demo("--no-wait", "--port", str(port), "--data-dir", str(data_dir), cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
    for expected in (
        "Custom workflow",
        "Domain workflow (ECOMMERCE)",
        "Solution versions",
        "Recommenders",
        "Offline metrics",
        "aws-user-personalization-v2",
        "aws-ecomm-customers-who-viewed-x-also-viewed",
        "after PutEvents",
        "Customers who viewed",
        f"http://127.0.0.1:{port}/console",
    ):
        assert expected in out, f"{expected!r} missing from the demo's output:\n{out[-4000:]}"
    assert "demo failed" not in out
    # A given data directory is kept, with the server's log; the demo stopped its server.
    assert (data_dir / "metadata.sqlite3").is_file()
    assert (data_dir / "server.log").is_file()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the demo's server outlived --no-wait"


def test_demo_reports_an_unreachable_endpoint(tmp_path: Path) -> None:
    result = demo("--endpoint-url", f"http://127.0.0.1:{free_port()}", cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert "no openpersonalize server answers" in result.stdout
