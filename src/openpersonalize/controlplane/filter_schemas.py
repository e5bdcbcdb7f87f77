"""The dataset group's schemas as the filter validator needs them."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.data.schemas import parse_schema
from openpersonalize.filtering.ast import Dataset, FilterExpression
from openpersonalize.filtering.validate import ColumnInfo, Schemas, ValidatedFilter, validate
from openpersonalize.store.metadata import Resource

_DATASETS = {
    "Interactions": Dataset.INTERACTIONS,
    "Items": Dataset.ITEMS,
    "Users": Dataset.USERS,
    "Actions": Dataset.ACTIONS,
    "Action_Interactions": Dataset.ACTION_INTERACTIONS,
}


def group_schemas(ctx: Context, group_arn: str) -> Schemas:
    schemas: dict[Dataset, dict[str, ColumnInfo]] = {}
    for dataset in common.live(ctx.store.select("dataset", dataset_group=group_arn)):
        schema_res = ctx.store.find(dataset.body["schemaArn"])
        if schema_res is None:
            continue
        schema = parse_schema(schema_res.body["schema"])
        schemas[_DATASETS[dataset.body["datasetType"]]] = {
            f.name: ColumnInfo(type=f.type, categorical=f.categorical, textual=f.textual)
            for f in schema.fields
        }
    return schemas


def validate_for_group(
    ctx: Context, group: Resource, parsed: FilterExpression, **kwargs: Any
) -> ValidatedFilter:
    return validate(parsed, group_schemas(ctx, group.arn), **kwargs)
