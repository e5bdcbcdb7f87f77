"""Computing the metrics of metric attributions: what the server (PutEvents) and the job workers
(imports) share.

- :func:`active_attribution`: the dataset group's metric attribution, parsed.
- :func:`attribution_store`: the SQLite file of aggregates and recommendation ids, one per data
  directory and process.
- :func:`events_table`: interactions (as records or an import's table) → the events table of
  :mod:`openpersonalize.data.attribution`, with each event's source resolved and the summed
  columns looked up (``Items.COL`` by the event's item in the Items dataset).

Source of an event: its ``metricAttribution.eventAttributionSource`` (the
``EVENT_ATTRIBUTION_SOURCE`` column of an import), else the campaign or recommender ARN that
issued its ``recommendationId``, else ``SOURCE_NAME_UNDEFINED``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.controlplane import common, dataset_records
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.metric_attributions import KIND
from openpersonalize.data.attribution import UNDEFINED_SOURCE, MetricSpec, parse_metrics
from openpersonalize.store.attribution import AttributionStore
from openpersonalize.store.metadata import Resource

STORE_FILE = "attribution.sqlite3"
# recommendationIds older than this are forgotten (events normally follow within minutes).
RECOMMENDATION_RETENTION_SECONDS = 30 * 24 * 3600

Resolve = Callable[[Iterable[str]], dict[str, str]]


@dataclass(frozen=True)
class ActiveAttribution:
    arn: str
    dataset_group: str
    metrics: tuple[MetricSpec, ...]
    output_path: str | None  # metricsOutputConfig.s3DataDestination.path

    @property
    def item_columns(self) -> list[str]:
        return sorted({m.column for m in self.metrics if m.dataset == "Items" and m.column})

    @property
    def interaction_columns(self) -> list[str]:
        return sorted({m.column for m in self.metrics if m.dataset == "Interactions" and m.column})


def parse(resource: Resource) -> ActiveAttribution:
    config = resource.body.get("metricsOutputConfig") or {}
    destination = config.get("s3DataDestination") or {}
    return ActiveAttribution(
        arn=resource.arn,
        dataset_group=resource.dataset_group or resource.body.get("datasetGroupArn", ""),
        metrics=tuple(parse_metrics(resource.body.get("metrics") or [])),
        output_path=destination.get("path"),
    )


def active_attribution(ctx: Context, group_arn: str) -> ActiveAttribution | None:
    """The group's live metric attribution (there is at most one), or None."""
    live = common.live(ctx.store.select(KIND, dataset_group=group_arn))
    return parse(live[0]) if live else None


def live_attributions(ctx: Context) -> list[Resource]:
    return common.live(ctx.store.select(KIND))


_STORES: dict[Path, AttributionStore] = {}
_STORES_LOCK = threading.Lock()


def attribution_store(ctx: Context) -> AttributionStore:
    path = ctx.data_dir / STORE_FILE
    with _STORES_LOCK:
        store = _STORES.get(path)
        if store is None:
            store = _STORES[path] = AttributionStore(path)
        return store


@common.on_purge(KIND)
def _drop_aggregates(ctx: Context, resource: Resource) -> None:
    attribution_store(ctx).drop(resource.arn)


def item_values(ctx: Context, group_arn: str, columns: Sequence[str]) -> pa.Table | None:
    """``ITEM_ID`` and the wanted columns (float64; null where not numeric) of the group's Items
    dataset, bulk and real-time, newest record per item; None without an Items dataset."""
    if not columns:
        return None
    found = [
        d
        for d in dataset_records.datasets_of_group(ctx, group_arn)
        if d.body.get("datasetType") == "Items"
    ]
    if not found:
        return None
    spec = dataset_records.spec_for(ctx, found[0])
    present = [c for c in columns if c in spec.schema]
    table = dataset_records.read(ctx, found[0].arn, columns=["ITEM_ID", *present])
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {"ITEM_ID": table["ITEM_ID"]}
    for column in columns:
        arrays[f"Items.{column}"] = (
            _as_float(table[column])
            if column in present
            else pa.nulls(table.num_rows, pa.float64())
        )
    return pa.table(arrays)


def _as_float(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    try:
        return pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.nulls(len(values), pa.float64())  # SUM() applies to numeric columns only


def resolve_sources(
    explicit: Sequence[str | None], recommendation_ids: Sequence[str | None], resolve: Resolve
) -> list[str]:
    """Each event's attribution source (explicit wins, then the recommendationId's ARN)."""
    known = resolve(r for r, e in zip(recommendation_ids, explicit, strict=True) if r and not e)
    return [
        e or (known.get(r) if r else None) or UNDEFINED_SOURCE
        for e, r in zip(explicit, recommendation_ids, strict=True)
    ]


def events_table(
    attribution: ActiveAttribution,
    interactions: pa.Table,
    sources: Sequence[str],
    items: pa.Table | None,
) -> pa.Table:
    """The events table for :func:`openpersonalize.data.attribution.aggregate`: EVENT_TYPE,
    TIMESTAMP, SOURCE and one float column per summed value. ``interactions`` has the
    Interactions columns (at least EVENT_TYPE, TIMESTAMP; ITEM_ID when items are summed)."""
    n = interactions.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "EVENT_TYPE": _column(interactions, "EVENT_TYPE", pa.string()),
        "TIMESTAMP": _column(interactions, "TIMESTAMP", pa.float64()),
        "SOURCE": pa.array(sources, pa.string()),
    }
    for column in attribution.interaction_columns:
        columns[f"Interactions.{column}"] = (
            _as_float(interactions[column])
            if column in interactions.column_names
            else pa.nulls(n, pa.float64())
        )
    table = pa.table(columns)
    wanted = [f"Items.{c}" for c in attribution.item_columns]
    if not wanted:
        return table
    if items is None or "ITEM_ID" not in interactions.column_names:
        for name in wanted:
            table = table.append_column(name, pa.nulls(n, pa.float64()))
        return table
    # Look each event's item up: positions into the items table (null when unknown).
    positions = pc.index_in(
        pc.cast(interactions["ITEM_ID"], pa.string()),
        value_set=pc.cast(items["ITEM_ID"].combine_chunks(), pa.string()),
    )
    for name in wanted:
        table = table.append_column(name, pc.take(items[name], positions))
    return table


def _column(table: pa.Table, name: str, kind: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, kind)
    return pc.cast(table[name], kind)
