"""Datasets: one per type in a dataset group, each bound to a schema."""

from __future__ import annotations

import uuid
from typing import Any

from openpersonalize.controlplane import common, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.data.schemas import check_dataset_schema, check_schema_update, parse_schema
from openpersonalize.errors import InvalidInputException, ResourceInUseException

KIND = "dataset"
# Canonical spelling of each dataset type as DescribeDataset reports it.
DATASET_TYPES = {
    "INTERACTIONS": "Interactions",
    "ITEMS": "Items",
    "USERS": "Users",
    "ACTIONS": "Actions",
    "ACTION_INTERACTIONS": "Action_Interactions",
}


def canonical_type(dataset_type: str) -> str:
    canonical = DATASET_TYPES.get(dataset_type.upper())
    if canonical is None:
        raise InvalidInputException(
            f"Invalid datasetType {dataset_type!r}: must be one of "
            f"{', '.join(DATASET_TYPES.values())} (case-insensitive)."
        )
    return canonical


@operation("CreateDataset")
def create_dataset(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    dataset_type = canonical_type(params["datasetType"])
    group = common.require(ctx, params["datasetGroupArn"], "dataset-group")
    schema_res = common.require(ctx, params["schemaArn"], "schema", active=False)
    domain = group.body.get("domain")
    schema_domain = schema_res.body.get("domain")
    if domain and schema_domain and domain != schema_domain:
        raise InvalidInputException(
            f"Schema {schema_res.arn} is for domain {schema_domain} but dataset group "
            f"{group.arn} is {domain}."
        )
    if schema_domain and not domain:
        raise InvalidInputException(
            f"Schema {schema_res.arn} is a {schema_domain} domain schema and cannot be used in "
            "a custom dataset group."
        )
    schema = parse_schema(schema_res.body["schema"])
    check_dataset_schema(schema, dataset_type, domain)
    arn = ctx.arns.dataset(group.name, dataset_type)
    body: dict[str, Any] = {
        "name": params["name"],
        "datasetArn": arn,
        "datasetGroupArn": group.arn,
        "datasetType": dataset_type,
        "schemaArn": schema_res.arn,
    }
    if dataset_type == "Action_Interactions":
        body["trackingId"] = str(uuid.uuid4())
    common.create(
        ctx,
        kind=KIND,
        arn=arn,
        name=params["name"],
        body=body,
        under=group,
        tags=params.get("tags"),
    )
    return {"datasetArn": arn}


@operation("DescribeDataset")
def describe_dataset(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"dataset": common.describe(ctx, params["datasetArn"], KIND)}


@operation("ListDatasets")
def list_datasets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, KIND, "datasets", dataset_group=params.get("datasetGroupArn")
    )


@operation("UpdateDataset")
def update_dataset(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    dataset = common.get(ctx, params["datasetArn"], KIND)
    if dataset.status != lifecycle.ACTIVE:
        raise ResourceInUseException(f"Dataset {dataset.arn} is {dataset.status}.")
    new_res = common.require(ctx, params["schemaArn"], "schema", active=False)
    if new_res.arn == dataset.body["schemaArn"]:
        raise InvalidInputException("The dataset already uses this schema: nothing to update.")
    old = parse_schema(
        common.require(ctx, dataset.body["schemaArn"], "schema", active=False).body["schema"]
    )
    new = parse_schema(new_res.body["schema"])
    group = common.require(ctx, dataset.dataset_group or "", "dataset-group", active=False)
    check_dataset_schema(new, dataset.body["datasetType"], group.body.get("domain"))
    check_schema_update(old, new)
    now = ctx.now()
    ctx.store.update(
        dataset.arn,
        body={
            "schemaArn": new_res.arn,
            "latestDatasetUpdate": {
                "schemaArn": new_res.arn,
                "status": lifecycle.ACTIVE,
                "creationDateTime": now,
                "lastUpdatedDateTime": now,
            },
        },
    )
    return {"datasetArn": dataset.arn}


@operation("DeleteDataset")
def delete_dataset(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["datasetArn"]
    dataset = common.get(ctx, arn, KIND)
    common.refuse_if_in_flight(
        arn, ctx.store.select("dataset-import-job", parent=arn), "import job"
    )
    versions = ctx.store.select("solution-version", dataset_group=dataset.dataset_group)
    common.refuse_if_in_flight(arn, versions, "solution version")
    common.mark_deleted(ctx, dataset)
    return {}
