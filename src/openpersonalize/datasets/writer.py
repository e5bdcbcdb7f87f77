"""Streaming a :class:`SyntheticDataset` to CSV, gzip-compressed CSV or Parquet files."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from openpersonalize.datasets.presets import DATASET_NAMES
from openpersonalize.datasets.synthetic import SyntheticDataset

Format = Literal["csv", "csv.gz", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "csv.gz", "parquet")
GZIP_LEVEL = 1
_TEXT_COLUMNS = frozenset({"PRODUCT_NAME", "PRODUCT_DESCRIPTION", "TITLE", "DESCRIPTION"})


def _write_csv(batches: pa.RecordBatchReader, path: Path, compressed: bool) -> None:
    schema = batches.schema
    # Personalize wants a bare header row; Arrow would quote it. Values need quoting only where
    # free text may hold commas, and Arrow's "needed" style then quotes every string.
    has_text = any(name in _TEXT_COLUMNS for name in schema.names)
    options = pacsv.WriteOptions(
        include_header=False, quoting_style="needed" if has_text else "none"
    )
    header = (",".join(schema.names) + "\n").encode()
    with open(path, "wb") as sink:
        # Arrow's gzip stream compresses at a high level (~5x slower); level 1 keeps it streaming.
        gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if compressed else None
        sink.write(gzip.compress(header) if gzip else header)
        for batch in batches:
            buffer = pa.BufferOutputStream()
            pacsv.write_csv(batch, buffer, write_options=options)
            chunk = memoryview(buffer.getvalue())
            sink.write(gzip.compress(chunk) if gzip else chunk)
        if gzip:
            sink.write(gzip.flush())


def write(
    dataset: SyntheticDataset,
    out_dir: str | Path,
    fmt: Format = "csv",
    *,
    with_schemas: bool = False,
) -> dict[str, Path]:
    """Write ``interactions``, ``items`` and ``users`` into ``out_dir``; return their paths.

    Files are named ``<name>.csv``, ``<name>.csv.gz`` or ``<name>.parquet``. Rows are streamed one
    RecordBatch at a time, so memory stays bounded by the dataset's ``chunk_users``. With
    ``with_schemas`` the Avro schemas are written too, as ``<name>.schema.json`` under the keys
    ``<name>_schema``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in DATASET_NAMES:
        path = out / f"{name}.{fmt}"
        schema = dataset.arrow_schema(name)
        reader = pa.RecordBatchReader.from_batches(schema, dataset.batches(name))
        if fmt == "parquet":
            with pq.ParquetWriter(str(path), schema, compression="zstd") as parquet:
                for batch in reader:
                    parquet.write_batch(batch)
        else:
            _write_csv(reader, path, compressed=fmt == "csv.gz")
        paths[name] = path
        if with_schemas:
            schema_path = out / f"{name}.schema.json"
            schema_path.write_text(dataset.schemas[name] + "\n", encoding="utf-8")
            paths[f"{name}_schema"] = schema_path
    return paths
