"""The rules every resource shares: creation with tags, describe, paged lists, async deletes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import (
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    TooManyTagsException,
)
from openpersonalize.store.metadata import Resource
from openpersonalize.wire.paging import page

MAX_TAGS_PER_RESOURCE = 50
DEFAULT_PAGE_SIZE = 100


def tags_from_wire(tags: list[dict[str, str]] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for tag in tags or []:
        result[tag["tagKey"]] = tag.get("tagValue", "")
    if len(result) > MAX_TAGS_PER_RESOURCE:
        raise TooManyTagsException(
            f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; the request has "
            f"{len(result)}."
        )
    return result


def new_id(length: int = 8) -> str:
    """Lower-case hex id as AWS uses for solution versions and event trackers."""
    return secrets.token_hex(length // 2)


def create(
    ctx: Context,
    *,
    kind: str,
    arn: str,
    name: str,
    body: dict[str, Any],
    status: str = lifecycle.ACTIVE,
    under: Resource | None = None,
    parent: str | None = None,
    dataset_group: str | None = None,
    tags: list[dict[str, str]] | None = None,
) -> Resource:
    """Insert a resource. A same-named one that is being deleted is finished off first.

    ``under`` is the resource it belongs to (a dataset group, dataset, solution or version): its
    ARN becomes the parent, and the dataset group is inherited from it.
    """
    if under is not None:
        parent = under.arn
        dataset_group = under.arn if under.kind == "dataset-group" else under.dataset_group
    purge_due(ctx)
    for previous in (ctx.store.find(arn), ctx.store.find_by_name(kind, name)):
        if previous is not None and previous.deleted_at is not None:
            purge(ctx, previous)
    now = ctx.now()
    resource = Resource(
        arn=arn,
        kind=kind,
        name=name,
        status=status,
        created=now,
        updated=now,
        parent=parent,
        dataset_group=dataset_group,
        body=body,
    )
    ctx.store.insert(resource, tags_from_wire(tags))
    return resource


def create_job(
    ctx: Context,
    *,
    kind: str,
    arn: str,
    name: str,
    body: dict[str, Any],
    under: Resource,
    tags: list[dict[str, str]] | None = None,
    status: str = lifecycle.CREATE_PENDING,
    job_kind: str | None = None,
) -> Resource:
    """Create a resource whose work runs in a job worker, and hand it to the job queue."""
    resource = create(
        ctx, kind=kind, arn=arn, name=name, body=body, status=status, under=under, tags=tags
    )
    ctx.enqueue(arn, job_kind or kind)
    return resource


def create_in_group(
    ctx: Context,
    *,
    kind: str,
    arn: str,
    name: str,
    body: dict[str, Any],
    group: Resource,
    limit: int,
    plural: str,
    tags: list[dict[str, str]] | None = None,
    job: bool = False,
) -> Resource:
    """Create a resource of which a dataset group may hold at most ``limit`` (not counting those
    being deleted): LimitExceededException past it. ``job``: queue its work as ``create_job`` does.
    """
    count = len(live(ctx.store.select(kind, dataset_group=group.arn)))
    check_quota(count, limit, f"More than {limit} {plural} in dataset group {group.arn}.")
    make = create_job if job else create
    return make(ctx, kind=kind, arn=arn, name=name, body=body, under=group, tags=tags)


def render(resource: Resource) -> dict[str, Any]:
    """The Describe/List view of a resource: body plus status and timestamps."""
    out = dict(resource.body)
    out["status"] = resource.status
    out["creationDateTime"] = resource.created
    out["lastUpdatedDateTime"] = resource.updated
    return out


def get(ctx: Context, arn: str, kind: str) -> Resource:
    """A live resource (a deleted one answers Describe once, then it is gone)."""
    resource = ctx.store.find(arn)
    if resource is None or resource.kind != kind:
        raise ResourceNotFoundException.for_arn(arn)
    if resource.deleted_at is not None and resource.deleted_at <= ctx.now():
        purge(ctx, resource)
        raise ResourceNotFoundException.for_arn(arn)
    return resource


def describe(ctx: Context, arn: str, kind: str) -> dict[str, Any]:
    resource = get(ctx, arn, kind)
    if resource.deleted_at is not None:
        # Answer once with DELETE PENDING; the next call finds nothing.
        ctx.store.update(resource.arn, deleted_at=ctx.now(), touch=False)
    return render(resource)


def require(ctx: Context, arn: str, kind: str, *, active: bool = True) -> Resource:
    """A parent that must exist (and be ACTIVE) for a create to proceed."""
    resource = ctx.store.find(arn)
    if resource is None or resource.kind != kind or resource.deleted_at is not None:
        raise ResourceNotFoundException.for_arn(arn)
    if active and resource.status != lifecycle.ACTIVE:
        raise ResourceInUseException(
            f"Resource {arn} is not in ACTIVE state (current status: {resource.status})."
        )
    return resource


def list_page(
    ctx: Context,
    params: dict[str, Any],
    kind: str,
    key: str,
    *,
    parent: str | None = None,
    dataset_group: str | None = None,
    predicate: Callable[[Resource], bool] | None = None,
    view: Callable[[Resource], dict[str, Any]] = render,
) -> dict[str, Any]:
    purge_due(ctx)
    resources = ctx.store.select(kind, parent=parent, dataset_group=dataset_group)
    if predicate is not None:
        resources = [r for r in resources if predicate(r)]
    scope = f"{kind}|{parent}|{dataset_group}"
    chunk, token = page(
        resources, params.get("nextToken"), params.get("maxResults"), scope, DEFAULT_PAGE_SIZE
    )
    out: dict[str, Any] = {key: [view(r) for r in chunk]}
    if token:
        out["nextToken"] = token
    return out


def live(resources: Iterable[Resource]) -> list[Resource]:
    return [r for r in resources if r.deleted_at is None]


def refuse_if_in_use(arn: str, dependents: Iterable[Resource], what: str) -> None:
    blocking = live(dependents)
    if blocking:
        names = ", ".join(r.arn for r in blocking[:3])
        raise ResourceInUseException(
            f"Cannot delete {arn}: it still has {what} ({names}). Delete them first."
        )


def refuse_if_in_flight(arn: str, jobs: Iterable[Resource], what: str) -> None:
    busy = [r for r in live(jobs) if r.status in lifecycle.IN_FLIGHT]
    if busy:
        raise ResourceInUseException(
            f"Cannot delete {arn} while {what} {busy[0].arn} is {busy[0].status}."
        )


def mark_deleted(ctx: Context, resource: Resource) -> None:
    """Start an async delete: DELETE PENDING now, gone after the grace period."""
    if resource.deleted_at is not None:
        return
    ctx.store.update(
        resource.arn,
        status=lifecycle.DELETE_PENDING,
        deleted_at=ctx.now() + ctx.config.delete_grace_seconds,
    )


# Cleanups run when a resource is finally removed (its data, models, logs).
PURGE_HOOKS: dict[str, list[Callable[[Context, Resource], None]]] = {}


def on_purge(
    kind: str,
) -> Callable[[Callable[[Context, Resource], None]], Callable[[Context, Resource], None]]:
    def register(hook: Callable[[Context, Resource], None]) -> Callable[[Context, Resource], None]:
        PURGE_HOOKS.setdefault(kind, []).append(hook)
        return hook

    return register


def purge(ctx: Context, resource: Resource) -> None:
    for hook in PURGE_HOOKS.get(resource.kind, []):
        hook(ctx, resource)
    ctx.store.remove(resource.arn)


def purge_due(ctx: Context) -> None:
    for resource in ctx.store.due_deletions(ctx.now()):
        purge(ctx, resource)


def check_quota(count: int, limit: int, message: str) -> None:
    if count >= limit:
        raise LimitExceededException(message)
