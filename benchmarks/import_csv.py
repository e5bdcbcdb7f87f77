"""CSV import throughput: ``python -m benchmarks import_csv [--rows N] [--keep]``.

Prints rows/s for ``../shared/data/retail/interactions.csv.gz`` (skipped with a message when the
reference data is absent) and for a generated interactions CSV of ``--rows`` rows (default 10
million; USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE) written under the system temp
directory. The target is at least 1 million rows/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from openpersonalize.data.csv_import import iter_csv_batches
from openpersonalize.data.schemas import AvroSchema, SchemaField

SHARED_DATA = Path(
    os.environ.get(
        "OPENPERSONALIZE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)

INTERACTIONS = AvroSchema(
    name="Interactions",
    fields=(
        SchemaField("USER_ID", "string"),
        SchemaField("ITEM_ID", "string"),
        SchemaField("TIMESTAMP", "long"),
        SchemaField("EVENT_TYPE", "string"),
        SchemaField("EVENT_VALUE", "float", nullable=True),
    ),
)
RETAIL_INTERACTIONS = AvroSchema(
    name="Interactions",
    fields=(
        SchemaField("USER_ID", "string"),
        SchemaField("ITEM_ID", "string"),
        SchemaField("EVENT_TYPE", "string"),
        SchemaField("TIMESTAMP", "long"),
        SchemaField("DISCOUNT", "string", nullable=True, categorical=True),
    ),
)


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` synthetic interactions, in chunks so memory stays flat."""
    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    schema = pa.schema([(f.name, pa.string()) for f in INTERACTIONS.fields])
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(str(path), schema, write_options=options) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            columns = [
                pa.array(rng.integers(0, 200_000, n)).cast(pa.string()),
                pa.array(rng.integers(0, 50_000, n)).cast(pa.string()),
                pa.array(1_600_000_000 + rng.integers(0, 10**7, n)).cast(pa.string()),
                pa.array(np.where(rng.random(n) < 0.8, "click", "purchase")),
                pa.array(np.round(rng.random(n), 3)).cast(pa.string()),
            ]
            writer.write_table(pa.table(columns, schema=schema))


def measure(path: Path, schema: AvroSchema) -> tuple[int, float]:
    start = time.perf_counter()
    rows = sum(batch.num_rows for batch in iter_csv_batches(path, schema))
    return rows, time.perf_counter() - start


def report(label: str, rows: int, seconds: float) -> None:
    print(f"{label}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks import_csv")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args, _ = parser.parse_known_args(list(argv) if argv is not None else None)

    retail = SHARED_DATA / "retail" / "interactions.csv.gz"
    if retail.is_file():
        report("retail/interactions.csv.gz", *measure(retail, RETAIL_INTERACTIONS))
    else:
        print(f"skipping retail: {retail} is absent (reference data only in the developers' tree)")

    directory = Path(tempfile.mkdtemp(prefix="openpersonalize-bench-"))
    path = directory / "interactions.csv"
    try:
        started = time.perf_counter()
        generate(path, args.rows)
        size = path.stat().st_size
        took = time.perf_counter() - started
        print(f"generated {args.rows:,} rows ({size / 1e6:,.0f} MB) in {took:.1f} s")
        report(f"generated {path.name}", *measure(path, INTERACTIONS))
    finally:
        if args.keep:
            print(f"kept {path}")
        else:
            path.unlink(missing_ok=True)
            directory.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
