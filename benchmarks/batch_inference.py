"""Batch inference speed: a batch-inference-job over N users (default 1,000,000).

    python -m benchmarks.batch_inference [--users 1000000] [--items 10000] [--files 4]

Builds a dataset group in a temporary data directory (Items with GENRE, ~5 bulk interactions per
user), an aws-user-personalization model on the iALS path (random 64-factor item vectors, as in
``benchmarks/serving.py``: the speed does not depend on what the vectors learned), writes the
input as JSON-lines files and runs the job function in this process (the worker's code path),
with a filter and exploration on (the default 0.3). Prints users/s. Target (2 cores): 1 million
users in under 5 minutes, i.e. ≥ 3,334 users/s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from benchmarks.serving import FILTER, _schema, build_model, install_model
from openpersonalize.controlplane import OPERATIONS, lifecycle
from openpersonalize.controlplane.context import make_context
from openpersonalize.jobs import runner
from openpersonalize.settings import load_config

HISTORY = 5


def run(data_dir: Path, n_users: int, n_items: int, n_files: int) -> float:
    rng = np.random.default_rng(0)
    ctx = make_context(load_config({"data_dir": str(data_dir)}, environ={}))

    def op(operation: str, /, **params: Any) -> dict[str, Any]:
        return OPERATIONS[operation](ctx, params)

    group = op("CreateDatasetGroup", name="bench")["datasetGroupArn"]
    fields: dict[str, list[dict[str, Any]]] = {
        "Interactions": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "Items": [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "GENRE", "type": "string", "categorical": True},
        ],
    }
    datasets = {}
    for kind, schema_fields in fields.items():
        schema = op("CreateSchema", name=f"bench-{kind}", schema=_schema(kind, schema_fields))
        datasets[kind] = op(
            "CreateDataset",
            name=f"bench-{kind}",
            datasetGroupArn=group,
            datasetType=kind,
            schemaArn=schema["schemaArn"],
        )["datasetArn"]
    items = pa.table(
        {
            "ITEM_ID": [f"i{i}" for i in range(n_items)],
            "GENRE": [f"g{i % 7}|g{i % 5}" for i in range(n_items)],
        }
    )
    ctx.records.replace_bulk(datasets["Items"], [items], upsert_key="ITEM_ID")
    n = n_users * HISTORY
    user_codes = np.repeat(np.arange(n_users), HISTORY)
    interactions = pa.table(
        {
            "USER_ID": pa.array([f"u{u}" for u in range(n_users)]).take(pa.array(user_codes)),
            "ITEM_ID": pa.array([f"i{i}" for i in range(n_items)]).take(
                pa.array(rng.zipf(1.3, n) % n_items)
            ),
            "TIMESTAMP": pa.array(1_600_000_000 + np.arange(n), pa.int64()),
        }
    )
    ctx.records.replace_bulk(datasets["Interactions"], [interactions])
    version = install_model(ctx, group, build_model(n_items, rng))
    flt = op("CreateFilter", name="bench", datasetGroupArn=group, filterExpression=FILTER)
    source = data_dir / "input"
    source.mkdir()
    per_file = -(-n_users // n_files)
    for f in range(n_files):
        with (source / f"users-{f}.json").open("w") as out:
            for u in range(f * per_file, min(n_users, (f + 1) * per_file)):
                out.write(json.dumps({"userId": f"u{u}"}) + "\n")
    arn = op(
        "CreateBatchInferenceJob",
        jobName="bench",
        solutionVersionArn=version,
        filterArn=flt["filterArn"],
        jobInput={"s3DataSource": {"path": str(source)}},
        jobOutput={"s3DataDestination": {"path": str(data_dir / "output")}},
        roleArn="arn:aws:iam::123456789012:role/bench",
    )["batchInferenceJobArn"]
    job = ctx.store.claim("bench", 3600, ("batch-inference-job",))
    if job is None:
        raise RuntimeError("the batch inference job was not queued")
    started = time.perf_counter()
    runner.run(ctx, job)
    seconds = time.perf_counter() - started
    resource = ctx.store.get(arn)
    if resource.status != lifecycle.ACTIVE:
        raise RuntimeError(f"job ended {resource.status}: {resource.body.get('failureReason')}")
    lines = sum(1 for f in (data_dir / "output").iterdir() for _ in f.open())
    assert lines == n_users, (lines, n_users)
    ctx.store.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.batch_inference")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="op-batch-bench-") as tmp:
        seconds = run(Path(tmp) / "data", args.users, args.items, args.files)
    rate = args.users / seconds
    print(
        f"batch inference: {args.users:,} users, {args.items:,} items in {seconds:.1f} s "
        f"= {rate:,.0f} users/s (target ≥ 3,334 users/s: 1 M users in 5 min)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
