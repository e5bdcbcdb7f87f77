"""Metric attributions: which events count towards which business metric."""

from __future__ import annotations

import re
from typing import Any

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import (
    InvalidInputException,
    LimitExceededException,
    ResourceAlreadyExistsException,
)
from openpersonalize.wire.paging import page

KIND = "metric-attribution"
MAX_METRICS = 10
_EXPRESSION = re.compile(
    r"^(SAMPLECOUNT\(\)|SUM\((Items|Interactions)\.[A-Za-z_][A-Za-z0-9_]*\))$", re.IGNORECASE
)


def check_metrics(metrics: list[dict[str, str]]) -> None:
    names = [m["metricName"] for m in metrics]
    if len(set(names)) != len(names):
        raise InvalidInputException("Metric names must be unique within a metric attribution.")
    if len(metrics) > MAX_METRICS:
        raise LimitExceededException(f"A metric attribution has at most {MAX_METRICS} metrics.")
    for metric in metrics:
        if not _EXPRESSION.match(metric["expression"].replace(" ", "")):
            raise InvalidInputException(
                f"Invalid expression {metric['expression']!r} for metric "
                f"{metric['metricName']!r}: use SAMPLECOUNT(), SUM(Items.COLUMN) or "
                "SUM(Interactions.COLUMN)."
            )


@operation("CreateMetricAttribution")
def create_metric_attribution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = common.require(ctx, params["datasetGroupArn"], "dataset-group")
    if common.live(ctx.store.select(KIND, dataset_group=group.arn)):
        raise ResourceAlreadyExistsException(
            f"Dataset group {group.arn} already has a metric attribution."
        )
    check_metrics(params["metrics"])
    name = params["name"]
    arn = ctx.arns.make(KIND, name)
    body = {
        "name": name,
        "metricAttributionArn": arn,
        "datasetGroupArn": group.arn,
        "metricsOutputConfig": params["metricsOutputConfig"],
        "metrics": params["metrics"],
    }
    common.create(ctx, kind=KIND, arn=arn, name=name, body=body, under=group)
    return {"metricAttributionArn": arn}


@operation("DescribeMetricAttribution")
def describe_metric_attribution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"metricAttribution": common.describe(ctx, params["metricAttributionArn"], KIND)}


@operation("ListMetricAttributions")
def list_metric_attributions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, KIND, "metricAttributions", dataset_group=params.get("datasetGroupArn")
    )


@operation("ListMetricAttributionMetrics")
def list_metric_attribution_metrics(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params.get("metricAttributionArn")
    if not arn:
        raise InvalidInputException("metricAttributionArn is required.")
    resource = common.get(ctx, arn, KIND)
    metrics = resource.body.get("metrics", [])
    chunk, token = page(metrics, params.get("nextToken"), params.get("maxResults"), arn, 100)
    out: dict[str, Any] = {"metrics": chunk}
    if token:
        out["nextToken"] = token
    return out


@operation("UpdateMetricAttribution")
def update_metric_attribution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params.get("metricAttributionArn")
    if not arn:
        raise InvalidInputException("metricAttributionArn is required.")
    resource = common.get(ctx, arn, KIND)
    metrics = list(resource.body.get("metrics", []))
    remove = set(params.get("removeMetrics") or [])
    unknown = remove - {m["metricName"] for m in metrics}
    if unknown:
        raise InvalidInputException(f"removeMetrics names unknown metrics: {sorted(unknown)}.")
    metrics = [m for m in metrics if m["metricName"] not in remove]
    existing = {m["metricName"] for m in metrics}
    for metric in params.get("addMetrics") or []:
        if metric["metricName"] in existing:
            raise ResourceAlreadyExistsException(
                f"Metric {metric['metricName']!r} already exists in {arn}."
            )
        metrics.append(metric)
    check_metrics(metrics)
    changes: dict[str, Any] = {"metrics": metrics}
    if params.get("metricsOutputConfig"):
        changes["metricsOutputConfig"] = params["metricsOutputConfig"]
    ctx.store.update(arn, body=changes)
    return {"metricAttributionArn": arn}


@operation("DeleteMetricAttribution")
def delete_metric_attribution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    resource = common.get(ctx, params["metricAttributionArn"], KIND)
    common.mark_deleted(ctx, resource)
    return {}
