"""A real openpersonalize server on a free loopback port, for tests that use real clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config as BotoConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    def __init__(
        self,
        data_dir: Path,
        settings: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.settings = {
            "min_import_records": 1,
            "min_interactions": 1,
            "min_users_with_two": 1,
            "delete_grace_seconds": 0.5,
            "job_lease_seconds": 30,
            **(settings or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({f"OPENPERSONALIZE_{k.upper()}": str(v) for k, v in self.settings.items()})
        env["OPENPERSONALIZE_PORT"] = str(self.port)
        env["OPENPERSONALIZE_DATA_DIR"] = str(self.data_dir)
        env.update(self.extra_env)
        return env

    def start(self) -> RunningServer:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openpersonalize", "serve"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def client(self, service: str, **kwargs: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=kwargs.pop("key", "testing"),
            aws_secret_access_key=kwargs.pop("secret", "testing"),
            config=BotoConfig(retries={"max_attempts": 1}),
            **kwargs,
        )


def wait_for(describe: Any, key: str, *, timeout: float = 60, **kwargs: Any) -> dict[str, Any]:
    """Poll a Describe call until the resource leaves its pending states."""
    deadline = time.time() + timeout
    while True:
        resource: dict[str, Any] = describe(**kwargs)[key]
        status = resource["status"]
        if status in ("ACTIVE", "CREATE FAILED", "CREATE STOPPED", "COMPLETED", "FAILED"):
            return resource
        if time.time() > deadline:
            raise TimeoutError(f"{key} still {status} after {timeout} s")
        time.sleep(0.1)
