"""Ingestion throughput through a real server:
``python -m benchmarks put_events [--seconds S] [--clients N] [--rows R]``.

1. PutEvents events/s: ``--clients`` threads, each with its own keep-alive HTTP connection, send
   10-event PutEvents calls for ``--seconds``; every 200 means the batch was fsync'ed (durable).
   Target: 10,000 events/s on 2 cores. The clients share those cores with the server, so the
   figure is a floor. Also printed: call latency p50/p99, the server's CPU time per call (a
   figure that does not depend on other load on the machine) and the load average, so a result
   from a busy machine can be recognised as such.
2. Import rows/s: a ``--rows`` interactions CSV imported by a real dataset import job (a worker
   process), timed from CreateDatasetImportJob to ACTIVE as a client sees it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.config import Config as BotoConfig

from benchmarks.serving import _schema

SCHEMA = _schema(
    "Interactions",
    [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
    ],
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            OPENPERSONALIZE_PORT=str(self.port),
            OPENPERSONALIZE_DATA_DIR=str(data_dir),
            OPENPERSONALIZE_MIN_IMPORT_RECORDS="1",
            OPENPERSONALIZE_LOG_LEVEL="warning",
        )
        self.process = subprocess.Popen([sys.executable, "-m", "openpersonalize", "serve"], env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=BotoConfig(retries={"max_attempts": 1}),
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def _wait(describe: Any, key: str, **kwargs: Any) -> dict[str, Any]:
    while True:
        resource: dict[str, Any] = describe(**kwargs)[key]
        if resource["status"] in ("ACTIVE", "CREATE FAILED"):
            return resource
        time.sleep(0.05)


def setup_group(server: Server, name: str) -> tuple[str, str]:
    """(Interactions dataset ARN, trackingId) of a new dataset group."""
    personalize = server.client("personalize")
    group = personalize.create_dataset_group(name=name)["datasetGroupArn"]
    schema = personalize.create_schema(name=name, schema=SCHEMA)["schemaArn"]
    dataset = personalize.create_dataset(
        name=name, schemaArn=schema, datasetGroupArn=group, datasetType="Interactions"
    )["datasetArn"]
    tracking = personalize.create_event_tracker(name=name, datasetGroupArn=group)["trackingId"]
    return dataset, tracking


@dataclass
class Rate:
    events_per_second: float
    calls: int
    p50_ms: float
    p99_ms: float
    server_cpu_ms_per_call: float


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def put_events_rate(server: Server, tracking_id: str, seconds: float, clients: int) -> Rate:
    sent = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    def run(worker: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        n = 0
        while time.perf_counter() < stop_at:
            body = json.dumps(
                {
                    "trackingId": tracking_id,
                    "userId": f"u{worker}-{n % 1000}",
                    "sessionId": f"s{worker}",
                    "eventList": [
                        {"eventType": "click", "sentAt": 1_700_000_000 + n, "itemId": f"i{i}"}
                        for i in range(10)
                    ],
                }
            )
            began = time.perf_counter()
            connection.request("POST", "/events", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            latencies[worker].append(time.perf_counter() - began)
            if response.status != 200:
                errors.append(payload.decode()[:200])
                return
            n += 1
            sent[worker] += 10

    threads = [threading.Thread(target=run, args=(w,)) for w in range(clients)]
    cpu_before = _cpu_seconds(server.process.pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(server.process.pid) - cpu_before
    if errors:
        raise RuntimeError(f"PutEvents failed: {errors[0]}")
    every = np.array([x for per_worker in latencies for x in per_worker]) * 1000
    calls = max(len(every), 1)
    return Rate(
        events_per_second=sum(sent) / elapsed,
        calls=len(every),
        p50_ms=float(np.percentile(every, 50)) if len(every) else 0.0,
        p99_ms=float(np.percentile(every, 99)) if len(every) else 0.0,
        server_cpu_ms_per_call=cpu * 1000 / calls,
    )


def import_rate(server: Server, dataset_arn: str, rows: int, folder: Path) -> float:
    rng = np.random.default_rng(0)
    path = folder / "interactions.csv"
    users = rng.integers(0, 100_000, rows)
    items = rng.integers(0, 20_000, rows)
    with path.open("w") as out:
        out.write("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n")
        for start in range(0, rows, 100_000):
            stop = min(rows, start + 100_000)
            out.write(
                "".join(
                    f"u{users[i]},i{items[i]},{1_700_000_000 + i},click\n"
                    for i in range(start, stop)
                )
            )
    personalize = server.client("personalize")
    started = time.perf_counter()
    arn = personalize.create_dataset_import_job(
        jobName="bench-import",
        datasetArn=dataset_arn,
        dataSource={"dataLocation": str(path)},
        roleArn="arn:aws:iam::123456789012:role/bench",
    )["datasetImportJobArn"]
    job = _wait(
        personalize.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=arn
    )
    elapsed = time.perf_counter() - started
    if job["status"] != "ACTIVE":
        raise RuntimeError(f"import failed: {job.get('failureReason')}")
    return rows / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks put_events")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rows", type=int, default=2_000_000, help="0: skip the import")
    args = parser.parse_args(list(argv) if argv is not None else None)
    with tempfile.TemporaryDirectory(prefix="openpersonalize-bench-") as tmp:
        server = Server(Path(tmp) / "data")
        try:
            dataset, tracking = setup_group(server, "bench")
            put_events_rate(server, tracking, 1.0, args.clients)  # warm-up: log open, caches
            load = os.getloadavg()
            rate = put_events_rate(server, tracking, args.seconds, args.clients)
            print(
                f"PutEvents: {rate.events_per_second:,.0f} events/s durable=fsync "
                f"({rate.events_per_second / 10:,.0f} calls/s, {args.clients} clients, 10 events "
                f"per call; target 10,000 events/s) latency p50 {rate.p50_ms:.1f} ms, "
                f"p99 {rate.p99_ms:.1f} ms; server CPU {rate.server_cpu_ms_per_call:.2f} ms/call; "
                f"{os.cpu_count()} CPUs, load average before {load[0]:.2f}, "
                f"after {os.getloadavg()[0]:.2f}"
            )
            if args.rows <= 0:
                return 0
            rows_rate = import_rate(server, dataset, args.rows, Path(tmp))
            print(f"Import job: {rows_rate:,.0f} rows/s ({args.rows:,} rows, create → ACTIVE)")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
