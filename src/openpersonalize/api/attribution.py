"""Metric attribution in the server: PutEvents → live aggregates; recommendationId → ARN.

PutEvents hands every accepted call to :func:`observe` (a deque append: the ingestion hot path
pays nothing else). A background thread turns what was queued into aggregates every
:data:`FLUSH_SECONDS` — source resolution, Items look-ups, the 14-day cut-off, the 15-minute
windows — and adds them to the SQLite store of the data directory, where the workers add those
of incremental imports. ``GET /metrics`` drains the queue first, so an event whose PutEvents has
returned is in the next scrape. Aggregates are derived data: they are committed at every drain
and when the server stops, so a ``kill -9`` can lose the last half second of them (never events).

GetRecommendations / GetPersonalizedRanking / GetActionRecommendations call :func:`remember` with
the recommendationId they issued and the campaign or recommender ARN: kept in an in-memory LRU for
the events that follow within seconds, and written to the store with the next drain for later
events, restarts and imports (forgotten after 30 days).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from typing import Any

import pyarrow as pa

from openpersonalize.api.events import METRIC_HOOKS
from openpersonalize.api.metrics import ATTRIBUTION_METRIC, Family, Sample
from openpersonalize.controlplane import attribution_metrics as am
from openpersonalize.controlplane.context import Context
from openpersonalize.data.attribution import LIVE_MAX_AGE_SECONDS, WINDOW_SECONDS, aggregate

log = logging.getLogger("openpersonalize.attribution")

FLUSH_SECONDS = 0.5
RECENT_RECOMMENDATIONS = 100_000  # LRU entries kept in memory
ATTRIBUTION_CACHE_SECONDS = 1.0
ITEMS_CACHE_SECONDS = 30.0
PRUNE_SECONDS = 3600.0

# (dataset group, the call's events as sent, the records built from them)
_Call = tuple[str, list[dict[str, Any]], list[dict[str, Any]]]


class Pipeline:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = am.attribution_store(ctx)
        self._queue: deque[_Call] = deque()
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._unsaved: list[tuple[str, str, float]] = []
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._attributions: dict[str, tuple[float, am.ActiveAttribution | None]] = {}
        self._items: dict[tuple[str, tuple[str, ...]], tuple[float, pa.Table | None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned = 0.0

    # -- producers (request threads, the event loop) ----------------------------------------

    def observe(
        self, group: str, events: list[dict[str, Any]], records: list[dict[str, Any]]
    ) -> None:
        self._queue.append((group, events, records))
        if self._thread is None:
            self._start()

    def remember(self, recommendation_id: str, source_arn: str) -> None:
        with self._lock:
            self._recent[recommendation_id] = source_arn
            if len(self._recent) > RECENT_RECOMMENDATIONS:
                self._recent.popitem(last=False)
            self._unsaved.append((recommendation_id, source_arn, self.ctx.now()))
        if self._thread is None:
            self._start()

    def resolve(self, recommendation_ids: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        missing: list[str] = []
        with self._lock:
            for rid in recommendation_ids:
                arn = self._recent.get(rid)
                if arn is None:
                    missing.append(rid)
                else:
                    out[rid] = arn
        if missing:
            out.update(self.store.resolve(missing))
        return out

    # -- the background side ----------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="metric-attribution", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            try:
                self.drain()
            except Exception:  # retried at the next tick; the queue is kept
                log.exception("metric attribution: drain failed")

    def drain(self) -> None:
        """Save the new recommendation ids and aggregate every queued call."""
        with self._drain_lock:
            with self._lock:
                unsaved, self._unsaved = self._unsaved, []
            self.store.remember(unsaved)
            calls: dict[str, list[_Call]] = {}
            while self._queue:
                call = self._queue.popleft()
                calls.setdefault(call[0], []).append(call)
            for group, group_calls in calls.items():
                try:
                    self._aggregate(group, group_calls)
                except Exception:
                    log.exception("metric attribution: events of %s not counted", group)
            now = time.monotonic()
            if now - self._pruned > PRUNE_SECONDS:
                self._pruned = now
                self.store.forget_before(self.ctx.now() - am.RECOMMENDATION_RETENTION_SECONDS)

    def _attribution(self, group: str) -> am.ActiveAttribution | None:
        now = time.monotonic()
        hit = self._attributions.get(group)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = am.active_attribution(self.ctx, group)
        self._attributions[group] = (now + ATTRIBUTION_CACHE_SECONDS, found)
        return found

    def _item_values(self, group: str, columns: list[str]) -> pa.Table | None:
        if not columns:
            return None
        key = (group, tuple(columns))
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        table = am.item_values(self.ctx, group, columns)
        self._items[key] = (now + ITEMS_CACHE_SECONDS, table)
        return table

    def _aggregate(self, group: str, calls: list[_Call]) -> None:
        attribution = self._attribution(group)
        if attribution is None or not attribution.metrics:
            return
        cutoff = self.ctx.now() - LIVE_MAX_AGE_SECONDS
        wanted = attribution.interaction_columns
        columns: dict[str, list[Any]] = {"EVENT_TYPE": [], "TIMESTAMP": [], "ITEM_ID": []}
        columns.update({c: [] for c in wanted})
        explicit: list[str | None] = []
        recommendation_ids: list[str | None] = []
        for _group, events, records in calls:
            for event, record in zip(events, records, strict=True):
                timestamp = float(record.get("TIMESTAMP") or event["sentAt"])
                if timestamp < cutoff:
                    continue  # as in Personalize, only events of the last 14 days are reported
                columns["EVENT_TYPE"].append(event["eventType"])
                columns["TIMESTAMP"].append(timestamp)
                columns["ITEM_ID"].append(record.get("ITEM_ID", event.get("itemId")))
                for column in wanted:
                    value = record.get(column)
                    if value is None and column == "EVENT_VALUE":
                        value = event.get("eventValue")
                    columns[column].append(value)
                source = (event.get("metricAttribution") or {}).get("eventAttributionSource")
                explicit.append(source)
                recommendation_ids.append(event.get("recommendationId"))
        if not explicit:
            return
        interactions = pa.table({k: pa.array(v) for k, v in columns.items()})
        sources = am.resolve_sources(explicit, recommendation_ids, self.resolve)
        items = self._item_values(group, attribution.item_columns)
        events_table = am.events_table(attribution, interactions, sources, items)
        self.store.add(attribution.arn, aggregate(events_table, attribution.metrics))

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join()
        self.drain()


_PIPELINES: dict[int, Pipeline] = {}
_PIPELINES_LOCK = threading.Lock()


def pipeline(ctx: Context) -> Pipeline:
    with _PIPELINES_LOCK:
        found = _PIPELINES.get(id(ctx))
        if found is None:
            found = _PIPELINES[id(ctx)] = Pipeline(ctx)
        return found


def observe(
    ctx: Context, group: str, events: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    """The PutEvents hook."""
    pipeline(ctx).observe(group, events, records)


def remember(ctx: Context, recommendation_id: str | None, source_arn: str | None) -> None:
    """Called by the runtime API for every recommendationId it returns."""
    if recommendation_id and source_arn:
        pipeline(ctx).remember(recommendation_id, source_arn)


def close(ctx: Context) -> None:
    """Stop the background thread after a last drain (server shutdown)."""
    with _PIPELINES_LOCK:
        found = _PIPELINES.pop(id(ctx), None)
    if found is not None:
        found.close()


def family(ctx: Context) -> Family:
    """The attribution gauge family of ``/metrics``: every live metric attribution's aggregates
    of the windows of the last 14 days."""
    pipeline(ctx).drain()
    resources = {r.arn: r for r in am.live_attributions(ctx)}
    since = int((ctx.now() - LIVE_MAX_AGE_SECONDS) // WINDOW_SECONDS) * WINDOW_SECONDS
    stored = am.attribution_store(ctx).aggregates(list(resources), since=since)
    samples = []
    for arn, aggregates in stored.items():
        resource = resources[arn]
        for a in aggregates:
            labels = {
                "metric_attribution": resource.name,
                "dataset_group": resource.dataset_group or "",
                "metric_name": a.metric_name,
                "event_type": a.event_type,
                "event_attribution_source": a.source,
                "math_function": a.math_function,
                "window_start": str(a.window_start),
            }
            samples.append(Sample(labels, a.value))
    return Family(
        ATTRIBUTION_METRIC,
        "gauge",
        "Metric attribution value per metric, event type, attribution source and 15-minute "
        "window (window_start in epoch seconds) of the last 14 days.",
        samples,
    )


METRIC_HOOKS.append(observe)
