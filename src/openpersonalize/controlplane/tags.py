"""TagResource / UntagResource / ListTagsForResource for every taggable resource."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import (
    ResourceNotFoundException,
    TooManyTagKeysException,
    TooManyTagsException,
)


def _resource(ctx: Context, arn: str) -> Any:
    resource = ctx.store.find(arn)
    if resource is None or resource.deleted_at is not None:
        raise ResourceNotFoundException.for_arn(arn)
    return resource


@operation("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    resource = _resource(ctx, params["resourceArn"])
    new = common.tags_from_wire(params["tags"])
    merged = {**ctx.store.tags(resource.arn), **new}
    if len(merged) > common.MAX_TAGS_PER_RESOURCE:
        raise TooManyTagsException(
            f"Resource {resource.arn} would have {len(merged)} tags; the limit is "
            f"{common.MAX_TAGS_PER_RESOURCE}."
        )
    ctx.store.set_tags(resource.arn, new)
    return {}


@operation("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    resource = _resource(ctx, params["resourceArn"])
    keys = params["tagKeys"]
    if len(keys) > common.MAX_TAGS_PER_RESOURCE:
        raise TooManyTagKeysException(
            f"At most {common.MAX_TAGS_PER_RESOURCE} tag keys can be removed at once."
        )
    ctx.store.remove_tags(resource.arn, keys)
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    resource = _resource(ctx, params["resourceArn"])
    return {"tags": [{"tagKey": k, "tagValue": v} for k, v in ctx.store.tags(resource.arn).items()]}
