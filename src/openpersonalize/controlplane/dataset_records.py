"""A dataset's records as the stores see them: its spec, its typed reads, and their cleanup.

Record-store ids and event-log ids are dataset ARNs. A purged dataset takes its records and log
with it (the purge runs in the server process, which owns the logs).
"""

from __future__ import annotations

import contextlib

import pyarrow as pa

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.data.dataset_reader import DatasetSpec, Source, read_dataset
from openpersonalize.data.schemas import parse_schema
from openpersonalize.store.metadata import Resource

DATASET = "dataset"


def spec_for(ctx: Context, dataset: Resource) -> DatasetSpec:
    schema_res = ctx.store.get(dataset.body["schemaArn"])
    return DatasetSpec(
        dataset_id=dataset.arn,
        dataset_type=dataset.body["datasetType"],
        schema=parse_schema(schema_res.body["schema"]),
    )


def spec_for_arn(ctx: Context, dataset_arn: str) -> DatasetSpec:
    return spec_for(ctx, common.get(ctx, dataset_arn, DATASET))


def read(
    ctx: Context, dataset_arn: str, *, source: Source = "ALL", columns: list[str] | None = None
) -> pa.Table:
    """Every record of the dataset (bulk + real-time, including the newest events still in the
    log), typed per its schema. Safe from any process."""
    spec = spec_for_arn(ctx, dataset_arn)
    return read_dataset(ctx.records, events_root(ctx), spec, source=source, columns=columns)


def events_root(ctx: Context) -> str:
    return str(ctx.event_log.root)


def datasets_of_group(ctx: Context, group_arn: str) -> list[Resource]:
    return common.live(ctx.store.select(DATASET, dataset_group=group_arn))


@common.on_purge(DATASET)
def _drop_records(ctx: Context, dataset: Resource) -> None:
    with contextlib.suppress(Exception):
        ctx.event_log.drop(dataset.arn)
    ctx.records.drop(dataset.arn)
