"""Event trackers: the ``trackingId`` that PutEvents writes to a group's Interactions dataset."""

from __future__ import annotations

import uuid
from typing import Any

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import ResourceAlreadyExistsException

KIND = "event-tracker"


@operation("CreateEventTracker")
def create_event_tracker(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = common.require(ctx, params["datasetGroupArn"], "dataset-group")
    existing = common.live(ctx.store.select(KIND, dataset_group=group.arn))
    if existing:
        raise ResourceAlreadyExistsException(
            f"Dataset group {group.arn} already has an event tracker ({existing[0].arn})."
        )
    arn = ctx.arns.make(KIND, common.new_id())
    tracking_id = str(uuid.uuid4())
    body = {
        "name": params["name"],
        "eventTrackerArn": arn,
        "accountId": ctx.config.account_id,
        "trackingId": tracking_id,
        "datasetGroupArn": group.arn,
    }
    common.create(
        ctx,
        kind=KIND,
        arn=arn,
        name=params["name"],
        body=body,
        under=group,
        tags=params.get("tags"),
    )
    return {"eventTrackerArn": arn, "trackingId": tracking_id}


@operation("DescribeEventTracker")
def describe_event_tracker(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"eventTracker": common.describe(ctx, params["eventTrackerArn"], KIND)}


@operation("ListEventTrackers")
def list_event_trackers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, KIND, "eventTrackers", dataset_group=params.get("datasetGroupArn")
    )


@operation("DeleteEventTracker")
def delete_event_tracker(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tracker = common.get(ctx, params["eventTrackerArn"], KIND)
    common.mark_deleted(ctx, tracker)
    return {}


def tracker_for(ctx: Context, tracking_id: str) -> Any:
    """The live event tracker with this trackingId, or None."""
    for tracker in ctx.store.select(KIND):
        if tracker.body.get("trackingId") == tracking_id and tracker.deleted_at is None:
            return tracker
    return None
