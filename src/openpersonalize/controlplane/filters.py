"""Filters: expressions in the Personalize filter language, parsed and validated at creation."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.filtering.parser import parse

KIND = "filter"


@operation("CreateFilter")
def create_filter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = common.require(ctx, params["datasetGroupArn"], "dataset-group")
    expression = params["filterExpression"]
    parsed = parse(expression)  # InvalidInputException pointing at the problem
    from openpersonalize.controlplane import filter_schemas

    filter_schemas.validate_for_group(ctx, group, parsed)
    name = params["name"]
    arn = ctx.arns.make(KIND, name)
    body = {
        "name": name,
        "filterArn": arn,
        "datasetGroupArn": group.arn,
        "filterExpression": expression,
    }
    common.create_in_group(
        ctx,
        kind=KIND,
        arn=arn,
        name=name,
        body=body,
        group=group,
        limit=ctx.config.max_filters_per_dataset_group,
        plural="filters",
        tags=params.get("tags"),
    )
    return {"filterArn": arn}


@operation("DescribeFilter")
def describe_filter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"filter": common.describe(ctx, params["filterArn"], KIND)}


@operation("ListFilters")
def list_filters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # AWS answers with a capital F here, and clients read that key.
    return common.list_page(
        ctx, params, KIND, "Filters", dataset_group=params.get("datasetGroupArn")
    )


@operation("DeleteFilter")
def delete_filter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    resource = common.get(ctx, params["filterArn"], KIND)
    common.mark_deleted(ctx, resource)
    return {}
