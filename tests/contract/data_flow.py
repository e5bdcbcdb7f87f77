"""Helpers for the data-flow contract tests: dataset groups, import/export jobs, S3 via moto.

A module whose server reads and writes S3 takes its fixtures from the two factories here::

    s3 = s3_fixture(BUCKET)  # a moto S3 server with the bucket: (endpoint URL, client)
    server = s3_server_fixture({"min_import_records": 1000})  # a server pointed at it
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.contract.server import RunningServer, wait_for
from tests.schemas import INTERACTION_FIELDS, avro

ROLE = "arn:aws:iam::123456789012:role/personalize"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}

# GetSolutionMetrics keys as Personalize documents them (spec §4.2), written out here rather than
# imported from the engine, so that the tests check the engine against the spec.
RANKING_KEYS = frozenset(
    {
        "coverage",
        "mean_reciprocal_rank_at_25",
        "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10",
        "normalized_discounted_cumulative_gain_at_25",
        "precision_at_5",
        "precision_at_10",
        "precision_at_25",
    }
)

INTERACTIONS = avro(
    "Interactions",
    [*INTERACTION_FIELDS, ("EVENT_VALUE", ["null", "float"]), ("DEVICE", ["null", "string"])],
    DEVICE={"categorical": True},
)
ITEMS = avro(
    "Items",
    [("ITEM_ID", "string"), ("GENRE", ["null", "string"]), ("NUMBER_OF_RATINGS", ["null", "int"])],
    GENRE={"categorical": True},
)
USERS = avro("Users", [("USER_ID", "string"), ("AGE", ["null", "int"])])


def create_group(
    personalize: Any, name: str, schemas: dict[str, str], *, domain: str | None = None
) -> tuple[str, dict[str, str]]:
    """A dataset group with one dataset per (type → schema); returns (group arn, type → arn)."""
    kwargs = {"domain": domain} if domain else {}
    group = personalize.create_dataset_group(name=name, **kwargs)["datasetGroupArn"]
    datasets = {}
    for dataset_type, schema in schemas.items():
        schema_arn = personalize.create_schema(
            name=f"{name}-{dataset_type}", schema=schema, **kwargs
        )["schemaArn"]
        datasets[dataset_type] = personalize.create_dataset(
            name=f"{name}-{dataset_type}",
            schemaArn=schema_arn,
            datasetGroupArn=group,
            datasetType=dataset_type,
        )["datasetArn"]
    return group, datasets


def run_import(
    personalize: Any, dataset_arn: str, location: str, name: str, mode: str = "FULL"
) -> dict[str, Any]:
    arn = personalize.create_dataset_import_job(
        jobName=name,
        datasetArn=dataset_arn,
        dataSource={"dataLocation": location},
        roleArn=ROLE,
        importMode=mode,
    )["datasetImportJobArn"]
    return wait_for(
        personalize.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=arn
    )


def run_export(
    personalize: Any, dataset_arn: str, path: str, name: str, mode: str = "ALL"
) -> dict[str, Any]:
    arn = personalize.create_dataset_export_job(
        jobName=name,
        datasetArn=dataset_arn,
        ingestionMode=mode,
        roleArn=ROLE,
        jobOutput={"s3DataDestination": {"path": path}},
    )["datasetExportJobArn"]
    return wait_for(
        personalize.describe_dataset_export_job, "datasetExportJob", datasetExportJobArn=arn
    )


def read_csv_rows(texts: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    header: list[str] = []
    rows: list[dict[str, str]] = []
    for text in texts:
        reader = csv.DictReader(io.StringIO(text))
        header = list(reader.fieldnames or [])
        rows.extend(reader)
    return header, rows


def local_export(folder: Path, job_name: str) -> tuple[list[str], list[dict[str, str]]]:
    files = sorted((folder / job_name).glob("*.csv"))
    assert files, f"no export files in {folder / job_name}"
    return read_csv_rows([f.read_text() for f in files])


def s3_export(s3: Any, bucket: str, prefix: str) -> tuple[list[str], list[dict[str, str]]]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    keys = sorted(o["Key"] for o in listed if o["Key"].endswith(".csv"))
    assert keys, f"no export files at s3://{bucket}/{prefix}"
    texts = [s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode() for k in keys]
    return read_csv_rows(texts)


@contextmanager
def moto_s3() -> Iterator[tuple[str, Any]]:
    """A moto S3 server on a free loopback port: (endpoint URL, client)."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint, boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def server_env(endpoint: str) -> dict[str, str]:
    return {**S3_ENV, "OPENPERSONALIZE_S3_ENDPOINT_URL": endpoint}


def s3_fixture(*buckets: str) -> Any:
    """A module-scoped fixture: a moto S3 server with ``buckets`` created, as (endpoint URL,
    client). Assign it to the name ``s3`` in the test module."""

    @pytest.fixture(scope="module")
    def s3() -> Iterator[tuple[str, Any]]:
        with moto_s3() as (endpoint, client):
            for bucket in buckets:
                client.create_bucket(Bucket=bucket)
            yield endpoint, client

    return s3


def s3_server_fixture(settings: Mapping[str, Any] | None = None) -> Any:
    """A module-scoped fixture: a server with ``settings`` that reads and writes ``s3://``
    locations through the module's ``s3`` fixture. Assign it to the name ``server``."""

    @pytest.fixture(scope="module")
    def server(
        tmp_path_factory: pytest.TempPathFactory, s3: tuple[str, Any]
    ) -> Iterator[RunningServer]:
        running = RunningServer(
            tmp_path_factory.mktemp("server") / "data", settings, env=server_env(s3[0])
        ).start()
        yield running
        running.stop()

    return server


def record_count(data_dir: Path, dataset_arn: str, source: str = "ALL") -> int:
    """Records of a dataset as the server stored them (read-only, from the test process)."""
    from openpersonalize.store.records import RecordStore

    return RecordStore(str(data_dir / "records")).count(dataset_arn, source)  # type: ignore[arg-type]
