"""The reference data sets imported through real import jobs, from a local path and from S3, and
exported back with exactly the source's record counts."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from tests.contract.data_flow import (
    create_group,
    local_export,
    run_export,
    run_import,
    s3_export,
    s3_fixture,
    s3_server_fixture,
)
from tests.contract.reference_data import FILES, SCHEMAS
from tests.contract.server import RunningServer

pytestmark = pytest.mark.shared_data
BUCKET = "shared-data"

COUNTS = {
    "poc": {"Interactions": 158_371, "Items": 9_742},
    "retail": {"Interactions": 675_004, "Items": 2_465, "Users": 6_000},
}

s3 = s3_fixture(BUCKET)
server = s3_server_fixture({"min_import_records": 1000})


def source_records(path: Path) -> int:
    """Data records of a file, counted by the csv module (descriptions span no lines here)."""
    import csv

    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


@pytest.mark.parametrize("where", ["local", "s3"])
@pytest.mark.parametrize("data_set", ["poc", "retail"])
def test_import_and_export_counts(
    server: RunningServer,
    s3: tuple[str, Any],
    shared_data: Path,
    tmp_path: Path,
    data_set: str,
    where: str,
) -> None:
    personalize = server.client("personalize")
    name = f"{data_set}-{where}"
    _, datasets = create_group(personalize, name, SCHEMAS[data_set])
    for dataset_type, relative in FILES[data_set].items():
        path = shared_data / relative
        assert source_records(path) == COUNTS[data_set][dataset_type]
        if where == "local":
            location = str(path)
        else:
            key = f"{name}/{dataset_type}/{path.name}"
            s3[1].upload_file(str(path), BUCKET, key)
            location = f"s3://{BUCKET}/{name}/{dataset_type}/"  # a folder
        job_name = f"{name}-{dataset_type}"
        job = run_import(personalize, datasets[dataset_type], location, job_name)
        assert job["status"] == "ACTIVE", job.get("failureReason")

        if where == "local":
            out = tmp_path / "out"
            export = run_export(personalize, datasets[dataset_type], str(out), job_name, "BULK")
            assert export["status"] == "ACTIVE", export.get("failureReason")
            _, rows = local_export(out, job_name)
        else:
            destination = f"s3://{BUCKET}/{name}/out/"
            export = run_export(personalize, datasets[dataset_type], destination, job_name, "BULK")
            assert export["status"] == "ACTIVE", export.get("failureReason")
            _, rows = s3_export(s3[1], BUCKET, f"{name}/out/{job_name}/")
        assert len(rows) == COUNTS[data_set][dataset_type], dataset_type
