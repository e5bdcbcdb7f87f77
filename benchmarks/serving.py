"""Serving speed: GetRecommendations through HTTP, with a filter, on a 100,000-item catalogue.

    python -m benchmarks.serving [--items 100000] [--clients 16] [--seconds 10]

Builds a dataset group in a temporary data directory (Items with GENRE / YEAR, a bulk history
per user), an aws-user-personalization model on the iALS path (random 64-factor item vectors:
the speed does not depend on what the vectors learned), a campaign and a filter; starts
``openpersonalize serve`` on a loopback port and drives it from concurrent keep-alive clients
(raw HTTP/1.1 on asyncio, so that the load generator costs little CPU on the same cores; then,
when ``wrk`` is installed, the same load from wrk, which costs less still). Prints
throughput, p50 and p99, the server's CPU time per request, and the in-process scoring throughput
(matrix-vector product + argpartition, one request at a time) as the physical reference. Targets
(2 cores): ≥ 1,500 requests/s, p99 < 25 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from openpersonalize.controlplane import OPERATIONS, lifecycle
from openpersonalize.controlplane.context import Context, make_context
from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.artifacts import save_model
from openpersonalize.engine.recipes.user_personalization import Blend, UserPersonalization
from openpersonalize.jobs import runner
from openpersonalize.settings import load_config

FACTORS = 64
N_USERS = 10_000
FILTER = 'EXCLUDE ItemID WHERE Items.GENRE IN ("g3")'


def _schema(name: str, fields: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "namespace": "com.amazonaws.personalize.schema",
            "fields": fields,
            "version": "1.0",
        }
    )


def build_model(n_items: int, rng: np.random.Generator) -> UserPersonalization:
    items = Vocabulary(f"i{i}" for i in range(n_items))
    users = Vocabulary(f"u{u}" for u in range(N_USERS))
    popularity = rng.random(n_items, dtype=np.float32)
    return UserPersonalization(
        items,
        users,
        blend=Blend(sequence=0.0, repeat=0.0, popularity_half_life=0.0),
        bptt=32,
        recency_mask=True,
        ease_items=np.zeros(0, dtype=np.int64),
        ease_weights=None,
        item_factors=rng.standard_normal((n_items, FACTORS), dtype=np.float32) * 0.1,
        transitions=sp.csr_matrix((n_items, n_items), dtype=np.float32),
        repeat=np.zeros(n_items, dtype=np.float32),
        popularity=popularity,
        item_first_seen=np.full(n_items, 1.6e9),
        item_interaction_count=np.ones(n_items, dtype=np.int64),
    )


def install_model(ctx: Context, group: str, model: UserPersonalization) -> str:
    """A solution version of ``group`` that is ACTIVE with ``model`` as its artifact (built
    here, not trained: no training job runs)."""
    solution = OPERATIONS["CreateSolution"](
        ctx,
        {
            "name": "bench",
            "datasetGroupArn": group,
            "recipeArn": "arn:aws:personalize:::recipe/aws-user-personalization",
        },
    )["solutionArn"]
    version = str(
        OPERATIONS["CreateSolutionVersion"](ctx, {"solutionArn": solution})["solutionVersionArn"]
    )
    path = save_model(model, ctx.data_dir / "artifacts")
    relative = str(path.relative_to(ctx.data_dir))
    ctx.store.update(version, status=lifecycle.ACTIVE, body={"artifact": relative})
    for queued in ctx.store.jobs(version):
        ctx.store.finish(queued.id)
    return version


def prepare(data_dir: Path, n_items: int) -> tuple[str, str]:
    """The campaign and filter ARNs of a ready dataset group in ``data_dir``."""
    rng = np.random.default_rng(0)
    ctx = make_context(load_config({"data_dir": str(data_dir)}, environ={}))

    def op(operation: str, /, **params: Any) -> dict[str, Any]:
        return OPERATIONS[operation](ctx, params)

    group = op("CreateDatasetGroup", name="bench")["datasetGroupArn"]
    schemas = {
        "Interactions": _schema(
            "Interactions",
            [
                {"name": "USER_ID", "type": "string"},
                {"name": "ITEM_ID", "type": "string"},
                {"name": "TIMESTAMP", "type": "long"},
                {"name": "EVENT_TYPE", "type": "string"},
            ],
        ),
        "Items": _schema(
            "Items",
            [
                {"name": "ITEM_ID", "type": "string"},
                {"name": "GENRE", "type": "string", "categorical": True},
                {"name": "YEAR", "type": "int"},
            ],
        ),
    }
    datasets = {}
    for kind, schema in schemas.items():
        schema_arn = op("CreateSchema", name=f"bench-{kind}", schema=schema)["schemaArn"]
        datasets[kind] = op(
            "CreateDataset",
            name=f"bench-{kind}",
            datasetGroupArn=group,
            datasetType=kind,
            schemaArn=schema_arn,
        )["datasetArn"]
    items = pa.table(
        {
            "ITEM_ID": [f"i{i}" for i in range(n_items)],
            "GENRE": [f"g{i % 7}|g{i % 5}" for i in range(n_items)],
            "YEAR": pa.array(1950 + np.arange(n_items) % 70, pa.int32()),
        }
    )
    ctx.records.replace_bulk(datasets["Items"], [items], upsert_key="ITEM_ID")
    n = N_USERS * 20
    interactions = pa.table(
        {
            "USER_ID": [f"u{u}" for u in rng.integers(0, N_USERS, n)],
            "ITEM_ID": [f"i{i}" for i in rng.zipf(1.3, n) % n_items],
            "TIMESTAMP": pa.array(1_600_000_000 + np.arange(n), pa.int64()),
            "EVENT_TYPE": ["click"] * n,
        }
    )
    ctx.records.replace_bulk(datasets["Interactions"], [interactions])
    version = install_model(ctx, group, build_model(n_items, rng))
    campaign = op("CreateCampaign", name="bench", solutionVersionArn=version)["campaignArn"]
    job = ctx.store.claim("bench", 600, ("campaign",))
    if job is None:
        raise RuntimeError("the campaign job was not queued")
    runner.run(ctx, job)
    assert ctx.store.get(campaign).status == lifecycle.ACTIVE
    flt = op("CreateFilter", name="bench", datasetGroupArn=group, filterExpression=FILTER)
    ctx.store.close()
    return str(campaign), str(flt["filterArn"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def client(
    port: int, bodies: list[bytes], deadline: float, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    while time.perf_counter() < deadline:
        body = bodies[i % len(bodies)]
        i += 1
        head = (
            f"POST /recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        start = time.perf_counter()
        writer.write(head + body)
        status = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        if b" 200 " not in status:
            errors.append(status.decode().strip())
    writer.close()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(port: int, bodies: list[bytes], clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    warm: list[float] = []
    errors: list[str] = []
    # Warm-up: the first request loads the model and the dataset-group tables.
    await asyncio.gather(
        *(client(port, bodies, time.perf_counter() + 2, warm, errors) for _ in range(clients))
    )
    start = time.perf_counter()
    await asyncio.gather(
        *(client(port, bodies, start + seconds, latencies, errors) for _ in range(clients))
    )
    elapsed = time.perf_counter() - start
    lat = np.asarray(latencies) * 1000
    return {
        "requests": float(len(lat)),
        "all_requests": float(len(lat) + len(warm)),
        "errors": float(len(errors)),
        "rps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
    }


WRK_SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/recommendations",
    {["Content-Type"] = "application/json"}, bodies[(i %% #bodies) + 1])
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def drive_wrk(
    wrk: str, port: int, bodies: list[bytes], clients: int, seconds: float, tmp: Path
) -> dict[str, float]:
    """The same load from wrk (one thread, ``clients`` keep-alive connections): a C load
    generator that leaves the cores to the server."""
    script = tmp / "bodies.lua"
    quoted = ",".join(json.dumps(b.decode()) for b in bodies)
    script.write_text(WRK_SCRIPT % quoted)
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{clients}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"\n\s+50%\s+(\S+)", out)
    p99 = re.search(r"\n\s+99%\s+(\S+)", out)
    done = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    return {
        "requests": float(done.group(1)) if done else float("nan"),
        "all_requests": float(done.group(1)) if done else float("nan"),
        "errors": float(bad.group(1)) if bad else (1.0 if errors else 0.0),
        "rps": rps,
        "p50_ms": _milliseconds(p50.group(1)) if p50 else float("nan"),
        "p99_ms": _milliseconds(p99.group(1)) if p99 else float("nan"),
    }


def raw_scoring(n_items: int, seconds: float = 3.0) -> float:
    """Requests/s of the bare kernel on one thread: factors @ u, mask, argpartition top 25."""
    rng = np.random.default_rng(1)
    factors = rng.standard_normal((n_items, FACTORS), dtype=np.float32)
    mask = rng.random(n_items) < 0.85
    done = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        u = rng.standard_normal(FACTORS, dtype=np.float32)
        scores = factors @ u
        scores[~mask] = -np.inf
        top = np.argpartition(-scores, 25)[:25]
        top[np.argsort(-scores[top])]
        done += 1
    return done / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="op-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        campaign, flt = prepare(data_dir, args.items)
        print(f"prepared {args.items:,} items in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "OPENPERSONALIZE_DATA_DIR": str(data_dir),
                "OPENPERSONALIZE_PORT": str(port),
                "OPENPERSONALIZE_WORKERS": "0",
                "OPENPERSONALIZE_LOG_LEVEL": "warning",
            }
        )
        server = subprocess.Popen([sys.executable, "-m", "openpersonalize", "serve"], env=env)
        results: list[tuple[str, dict[str, float], float]] = []
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            bodies = [
                json.dumps({"campaignArn": campaign, "userId": f"u{u}", "filterArn": flt}).encode()
                for u in range(0, N_USERS, 7)
            ]
            asyncio.run(drive(port, bodies, args.clients, 0.5))  # loads the model and the data
            cpu_before = process_cpu_seconds(server.pid)
            result = asyncio.run(drive(port, bodies, args.clients, args.seconds))
            results.append(
                ("asyncio clients", result, process_cpu_seconds(server.pid) - cpu_before)
            )
            wrk = shutil.which("wrk")
            if wrk is not None:
                cpu_before = process_cpu_seconds(server.pid)
                result = drive_wrk(wrk, port, bodies, args.clients, args.seconds, Path(tmp))
                results.append(("wrk", result, process_cpu_seconds(server.pid) - cpu_before))
        finally:
            server.terminate()
            server.wait(timeout=15)
    for load, result, cpu in results:
        print(
            f"HTTP GetRecommendations (filter on, {args.clients} clients, {load}): "
            f"{result['rps']:,.0f} requests/s, p50 {result['p50_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms, {int(result['errors'])} errors; "
            f"server CPU {1000 * cpu / max(result['all_requests'], 1):.2f} ms per request"
        )
    if shutil.which("wrk") is None:
        print("(wrk not found: install it, e.g. apt-get install wrk, for a C load generator)")
    print(f"in-process kernel (matvec + mask + argpartition): {raw_scoring(args.items):,.0f} /s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
