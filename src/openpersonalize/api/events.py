"""personalize-events: PutEvents, PutItems, PutUsers, PutActions, PutActionInteractions.

Each accepted call becomes one frame of the dataset's event log, fsync'ed before the 200 answer
(so it survives ``kill -9``), and is compacted into typed Parquet PUT segments in the background.
The request → dataset resolution is cached for a second: at a thousand calls a second the
metadata store is not read on every call, and a deleted tracker stops working within a second.

The handlers are async and run on the event loop: turning a call into records is a few dozen
microseconds of CPU, and the fsync is awaited (the log's flusher thread resolves a future), so no
thread-pool hop is paid per call. Only what may block — a cache miss that reads the metadata
store, the first open of a log — goes to the thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from starlette.concurrency import run_in_threadpool

from openpersonalize.api.app import async_rest_operation
from openpersonalize.api.metrics import server_counters
from openpersonalize.controlplane import common, dataset_records, event_trackers
from openpersonalize.controlplane.context import Context
from openpersonalize.data.dataset_reader import SESSION_COLUMN, DatasetSpec
from openpersonalize.data.event_records import (
    MAX_EVENT_BYTES,
    RecordBuilder,
    event_size,
    timestamp_seconds,
    within_size_limit,
)
from openpersonalize.errors import (
    InvalidInputException,
    PersonalizeError,
    ResourceNotFoundException,
)
from openpersonalize.jobs.scheduler import every
from openpersonalize.store.event_log import AppendResult, DatasetLog

SERVICE = "personalize-events"
CACHE_SECONDS = 1.0
# Event members that are request members of their own, never properties.
EVENT_MEMBERS = (
    "userId",
    "sessionId",
    "eventType",
    "timestamp",
    "sentAt",
    "recommendationId",
    "impression",
    "eventId",
    "itemId",
)


@dataclass(frozen=True)
class Target:
    """Where a call's records go."""

    spec: DatasetSpec
    dataset_group: str
    builder: RecordBuilder


class _Resolver:
    """trackingId / datasetArn → Target, cached for :data:`CACHE_SECONDS`."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[float, Target]] = {}
        self._lock = threading.Lock()

    def peek(self, key: tuple[str, str]) -> Target | None:
        """The cached target, if fresh (never blocks on the metadata store)."""
        with self._lock:
            hit = self._cache.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def get(self, key: tuple[str, str], build: Callable[[], Target]) -> Target:
        hit = self.peek(key)
        if hit is not None:
            return hit
        now = time.monotonic()
        target = build()
        with self._lock:
            self._cache[key] = (now + CACHE_SECONDS, target)
        return target


_RESOLVERS: dict[int, _Resolver] = {}
_RESOLVERS_LOCK = threading.Lock()


def _resolver(ctx: Context) -> _Resolver:
    with _RESOLVERS_LOCK:
        return _RESOLVERS.setdefault(id(ctx), _Resolver())


def _target(ctx: Context, dataset_arn: str, reserved: tuple[str, ...]) -> Target:
    dataset = common.get(ctx, dataset_arn, dataset_records.DATASET)
    spec = dataset_records.spec_for(ctx, dataset)
    return Target(spec, dataset.dataset_group or "", RecordBuilder(spec, reserved))


def interactions_target(ctx: Context, tracking_id: str) -> Target:
    def build() -> Target:
        tracker = event_trackers.tracker_for(ctx, tracking_id)
        if tracker is None:
            raise InvalidInputException(
                f"Unknown trackingId {tracking_id!r}: no event tracker has this tracking id. "
                "Use the trackingId returned by CreateEventTracker."
            )
        group = tracker.body["datasetGroupArn"]
        found = [
            d
            for d in dataset_records.datasets_of_group(ctx, group)
            if d.body.get("datasetType") == "Interactions"
        ]
        if not found:
            raise InvalidInputException(
                f"Dataset group {group} of trackingId {tracking_id!r} has no Interactions "
                "dataset: create one before sending events."
            )
        return _target(ctx, found[0].arn, EVENT_MEMBERS)

    return _resolver(ctx).get(("tracker", tracking_id), build)


def action_interactions_target(ctx: Context, tracking_id: str) -> Target:
    def build() -> Target:
        for dataset in common.live(ctx.store.select(dataset_records.DATASET)):
            if dataset.body.get("trackingId") == tracking_id:
                return _target(ctx, dataset.arn, (*EVENT_MEMBERS, "actionId"))
        raise InvalidInputException(
            f"Unknown trackingId {tracking_id!r}: no Action_Interactions dataset has this "
            "tracking id (see DescribeDataset)."
        )

    return _resolver(ctx).get(("actions-tracker", tracking_id), build)


def dataset_target(ctx: Context, dataset_arn: str, dataset_type: str, id_member: str) -> Target:
    def build() -> Target:
        try:
            target = _target(ctx, dataset_arn, (id_member,))
        except ResourceNotFoundException:
            raise ResourceNotFoundException(f"Resource Arn {dataset_arn} does not exist.") from None
        if target.spec.dataset_type != dataset_type:
            raise InvalidInputException(
                f"Dataset {dataset_arn} is a {target.spec.dataset_type} dataset; this call "
                f"writes {dataset_type} records."
            )
        return target

    return _resolver(ctx).get((dataset_type, dataset_arn), build)


def open_log(ctx: Context, spec: DatasetSpec) -> DatasetLog:
    """The dataset's log in this (the server) process. Compaction converts with the dataset's
    current schema, so an UpdateDataset schema change is written with its new columns."""
    dataset_arn = spec.dataset_id

    def to_table(records: Any) -> pa.Table:
        try:
            current = dataset_records.spec_for_arn(ctx, dataset_arn)
        except PersonalizeError:
            current = spec
        return current.put_table(records)

    return ctx.event_log.open(dataset_arn, spec.log_config, to_table=to_table)


async def _resolve(
    ctx: Context, key: tuple[str, str], build: Callable[[Context, str], Target], arg: str
) -> Target:
    """A cached target on the loop; on a miss, the metadata read goes to the thread pool."""
    hit = _resolver(ctx).peek(key)
    if hit is not None:
        return hit
    return await run_in_threadpool(build, ctx, arg)


async def _append(ctx: Context, target: Target, records: list[dict[str, Any]]) -> AppendResult:
    """Append durably without blocking the loop (a log's first open, which recovers it from
    disk, runs in the thread pool)."""
    log = ctx.event_log.opened(target.spec.dataset_id)
    if log is None:
        log = await run_in_threadpool(open_log, ctx, target.spec)
    return await log.append_async(records)


# -- PutEvents ------------------------------------------------------------------------------------


def _check_size(event: dict[str, Any], where: str) -> None:
    size = event_size(event)
    if size > MAX_EVENT_BYTES:
        raise InvalidInputException(
            f"{where} is {size:,} bytes; an event may be at most {MAX_EVENT_BYTES:,} bytes."
        )


def _check_sizes(events: list[dict[str, Any]], member: str) -> None:
    """Every event within the size limit: one measurement of the list usually settles a call;
    only a large call measures each event."""
    if within_size_limit(events):
        return
    for i, event in enumerate(events):
        _check_size(event, f"{member}[{i}]")


def event_record(
    target: Target, user_id: str | None, session_id: str, event: dict[str, Any], where: str
) -> dict[str, Any]:
    """One PutEvents event as a record (its size is checked by the caller)."""
    b = target.builder
    record = b.properties(event.get("properties"), where, allowed_ids=("ITEM_ID",))
    record["USER_ID"] = user_id
    record[SESSION_COLUMN] = session_id
    item_id = event.get("itemId")
    if item_id is not None:
        b.set(record, "ITEM_ID", item_id, f"{where}.itemId")
    b.set(record, "EVENT_TYPE", event["eventType"], f"{where}.eventType")
    sent_at = timestamp_seconds(event["sentAt"], f"{where}.sentAt")
    b.set(record, "TIMESTAMP", sent_at, f"{where}.sentAt")
    b.set(record, "EVENT_VALUE", event.get("eventValue"), f"{where}.eventValue")
    b.set(record, "RECOMMENDATION_ID", event.get("recommendationId"), f"{where}.recommendationId")
    impression = event.get("impression")
    if impression:
        b.set(record, "IMPRESSION", "|".join(impression), f"{where}.impression")
    source = (event.get("metricAttribution") or {}).get("eventAttributionSource")
    b.set(record, "EVENT_ATTRIBUTION_SOURCE", source, f"{where}.metricAttribution")
    if event.get("eventId") is not None:
        record["EVENT_ID"] = str(event["eventId"])
    b.check_required(record, where, optional=("USER_ID",) if session_id else ())
    return record


@async_rest_operation(SERVICE, "PutEvents")
async def put_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tracking_id = params["trackingId"]
    target = await _resolve(ctx, ("tracker", tracking_id), interactions_target, tracking_id)
    user_id = params.get("userId")
    session_id = params["sessionId"]
    events = params["eventList"]
    _check_sizes(events, "eventList")
    records = [
        event_record(target, user_id, session_id, event, f"eventList[{i}]")
        for i, event in enumerate(events)
    ]
    result = await _append(ctx, target, records)
    server_counters(ctx).events(result.accepted, result.duplicates)
    _observe_metrics(ctx, target, events, records)
    return {}


@async_rest_operation(SERVICE, "PutActionInteractions")
async def put_action_interactions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tracking_id = params["trackingId"]
    target = await _resolve(
        ctx, ("actions-tracker", tracking_id), action_interactions_target, tracking_id
    )
    b = target.builder
    records = []
    _check_sizes(params["actionInteractions"], "actionInteractions")
    for i, interaction in enumerate(params["actionInteractions"]):
        where = f"actionInteractions[{i}]"
        record = b.properties(interaction.get("properties"), where)
        record["USER_ID"] = interaction.get("userId")
        record[SESSION_COLUMN] = interaction["sessionId"]
        b.set(record, "ACTION_ID", interaction["actionId"], f"{where}.actionId")
        b.set(record, "EVENT_TYPE", interaction["eventType"], f"{where}.eventType")
        seconds = timestamp_seconds(interaction["timestamp"], f"{where}.timestamp")
        b.set(record, "TIMESTAMP", seconds, f"{where}.timestamp")
        b.set(record, "RECOMMENDATION_ID", interaction.get("recommendationId"), where)
        if interaction.get("impression"):
            b.set(record, "IMPRESSION", "|".join(interaction["impression"]), where)
        if interaction.get("eventId") is not None:
            record["EVENT_ID"] = str(interaction["eventId"])
        b.check_required(record, where, optional=("USER_ID",))
        records.append(record)
    await _append(ctx, target, records)
    return {}


# -- PutItems / PutUsers / PutActions -------------------------------------------------------------


async def _put_entities(
    ctx: Context, params: dict[str, Any], list_member: str, id_member: str, dataset_type: str
) -> dict[str, Any]:
    id_column = {"itemId": "ITEM_ID", "userId": "USER_ID", "actionId": "ACTION_ID"}[id_member]
    dataset_arn = params["datasetArn"]
    target = _resolver(ctx).peek((dataset_type, dataset_arn))
    if target is None:
        target = await run_in_threadpool(dataset_target, ctx, dataset_arn, dataset_type, id_member)
    b = target.builder
    records = []
    for i, entity in enumerate(params[list_member]):
        where = f"{list_member}[{i}]"
        record = b.properties(entity.get("properties"), where)
        b.set(record, id_column, entity[id_member], f"{where}.{id_member}")
        b.check_required(record, where)
        records.append(record)
    await _append(ctx, target, records)
    return {}


@async_rest_operation(SERVICE, "PutItems")
def put_items(ctx: Context, params: dict[str, Any]) -> Awaitable[dict[str, Any]]:
    return _put_entities(ctx, params, "items", "itemId", "Items")


@async_rest_operation(SERVICE, "PutUsers")
def put_users(ctx: Context, params: dict[str, Any]) -> Awaitable[dict[str, Any]]:
    return _put_entities(ctx, params, "users", "userId", "Users")


@async_rest_operation(SERVICE, "PutActions")
def put_actions(ctx: Context, params: dict[str, Any]) -> Awaitable[dict[str, Any]]:
    return _put_entities(ctx, params, "actions", "actionId", "Actions")


# -- background work in the server ----------------------------------------------------------------


def _observe_metrics(
    ctx: Context, target: Target, events: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    """Metric attribution hook (filled by :mod:`openpersonalize.api.attribution`)."""
    for hook in METRIC_HOOKS:
        hook(ctx, target.dataset_group, events, records)


MetricHook = Callable[[Context, str, list[dict[str, Any]], list[dict[str, Any]]], None]
METRIC_HOOKS: list[MetricHook] = []


@every(300.0)
def merge_put_segments(ctx: Context) -> None:
    """Compaction leaves one small PUT segment per tick; merge them so reads stay fast."""
    for dataset_id in ctx.event_log.dataset_ids():
        ctx.records.merge_segments(dataset_id)
