"""Dataset groups: the container of datasets, trackers, filters, solutions and recommenders."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import InvalidInputException

KIND = "dataset-group"


@operation("CreateDatasetGroup")
def create_dataset_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    if params.get("roleArn") and not params.get("kmsKeyArn"):
        raise InvalidInputException("roleArn is only valid together with kmsKeyArn.")
    common.check_quota(
        ctx.store.count(KIND),
        ctx.config.max_dataset_groups,
        f"More than {ctx.config.max_dataset_groups} resources in ACTIVE state.",
    )
    arn = ctx.arns.make(KIND, name)
    body = {
        "name": name,
        "datasetGroupArn": arn,
        "roleArn": params.get("roleArn"),
        "kmsKeyArn": params.get("kmsKeyArn"),
        "domain": params.get("domain"),
    }
    common.create(ctx, kind=KIND, arn=arn, name=name, body=body, tags=params.get("tags"))
    out = {"datasetGroupArn": arn}
    if params.get("domain"):
        out["domain"] = params["domain"]
    return out


@operation("DescribeDatasetGroup")
def describe_dataset_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"datasetGroup": common.describe(ctx, params["datasetGroupArn"], KIND)}


@operation("ListDatasetGroups")
def list_dataset_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(ctx, params, KIND, "datasetGroups")


@operation("DeleteDatasetGroup")
def delete_dataset_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["datasetGroupArn"]
    group = common.get(ctx, arn, KIND)
    common.refuse_if_in_use(
        arn,
        ctx.store.children(arn),
        "datasets, event trackers, filters, solutions, recommenders or metric attributions",
    )
    common.mark_deleted(ctx, group)
    return {}
