"""What the charts show, computed from a dataset group's records and solution metrics."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from openpersonalize.console import charts
from openpersonalize.controlplane.context import Context
from openpersonalize.engine.metrics import METRIC_KEYS
from openpersonalize.errors import PersonalizeError

log = logging.getLogger("openpersonalize.console")

# At most this many days are drawn (the newest ones).
MAX_DAYS = 90
# The long-tail curve is resampled to this many points.
TAIL_POINTS = 120
# Up to this many versions the metrics are grouped bars; beyond, one line per metric.
GROUPED_BARS_UP_TO = 4
# Metrics drawn across solution versions, in the order AWS lists them.
METRIC_NAMES = METRIC_KEYS
SHORT_METRIC = {
    "coverage": "coverage",
    "mean_reciprocal_rank_at_25": "MRR@25",
    "normalized_discounted_cumulative_gain_at_5": "NDCG@5",
    "normalized_discounted_cumulative_gain_at_10": "NDCG@10",
    "normalized_discounted_cumulative_gain_at_25": "NDCG@25",
    "precision_at_5": "P@5",
    "precision_at_10": "P@10",
    "precision_at_25": "P@25",
}


@dataclass
class InteractionStats:
    rows: int = 0
    users: int = 0
    items: int = 0
    days: list[str] = field(default_factory=list)
    per_day: list[float] = field(default_factory=list)
    event_types: dict[str, float] = field(default_factory=dict)
    tail: list[float] = field(default_factory=list)  # interactions of the i-th most popular item
    tail_labels: list[str] = field(default_factory=list)
    head_share: float = 0.0  # share of interactions on the top 10 % of items
    error: str | None = None


def read_table(ctx: Context, dataset_arn: str, columns: Sequence[str] | None = None) -> pa.Table:
    """A dataset's records (bulk and real-time), or an empty table when there are none."""
    from openpersonalize.controlplane import dataset_records

    return dataset_records.read(ctx, dataset_arn, columns=list(columns) if columns else None)


def interaction_stats(ctx: Context, dataset_arn: str | None) -> InteractionStats:
    stats = InteractionStats()
    if dataset_arn is None:
        return stats
    try:
        table = read_table(ctx, dataset_arn)
    except (PersonalizeError, OSError, ValueError, KeyError, pa.ArrowException) as exc:
        log.warning("cannot read %s for the console charts: %s", dataset_arn, exc)
        stats.error = str(exc)
        return stats
    stats.rows = table.num_rows
    if table.num_rows == 0:
        return stats
    names = set(table.column_names)
    if "USER_ID" in names:
        stats.users = pc.count_distinct(table["USER_ID"]).as_py()
    if "TIMESTAMP" in names:
        _per_day(stats, table["TIMESTAMP"])
    if "EVENT_TYPE" in names:
        counts = pc.value_counts(table["EVENT_TYPE"].combine_chunks())
        for entry in counts.to_pylist():
            stats.event_types[str(entry["values"] or "(none)")] = float(entry["counts"])
    if "ITEM_ID" in names:
        _long_tail(stats, table["ITEM_ID"])
    return stats


def _per_day(stats: InteractionStats, timestamps: pa.ChunkedArray) -> None:
    seconds = timestamps.drop_null().to_numpy().astype(np.int64)
    if seconds.size == 0:
        return
    days = seconds // 86_400
    first, last = int(days.min()), int(days.max())
    first = max(first, last - MAX_DAYS + 1)
    counts = np.bincount(days[days >= first] - first, minlength=last - first + 1)
    stats.days = [
        datetime.fromtimestamp(d * 86_400, UTC).strftime("%m-%d") for d in range(first, last + 1)
    ]
    stats.per_day = [float(c) for c in counts]


def _long_tail(stats: InteractionStats, item_ids: pa.ChunkedArray) -> None:
    counts = pc.value_counts(item_ids.combine_chunks()).field("counts").to_numpy()
    ordered = np.sort(counts)[::-1].astype(np.float64)
    stats.items = int(ordered.size)
    if ordered.size == 0:
        return
    head = max(1, ordered.size // 10)
    stats.head_share = float(ordered[:head].sum() / ordered.sum())
    picks = np.unique(np.linspace(0, ordered.size - 1, min(TAIL_POINTS, ordered.size)).astype(int))
    stats.tail = [float(ordered[i]) for i in picks]
    stats.tail_labels = [f"#{i + 1}" for i in picks]


def metrics_chart(versions: Sequence[dict[str, Any]], *, width: int = 640) -> Markup:
    """Metrics across solution versions: grouped bars for a few versions, lines for many."""
    labels, series = metrics_series(versions)
    title = "Metrics across solution versions"
    if len(labels) <= GROUPED_BARS_UP_TO:
        by_version = {label: [series[m][i] for m in series] for i, label in enumerate(labels)}
        return charts.grouped_bar_chart(
            list(series), by_version, title=title, width=width, y_max=1.0
        )
    return charts.line_chart(series, title=title, x_labels=labels, y_max=1.0, width=width)


def metrics_series(versions: Sequence[dict[str, Any]]) -> tuple[list[str], dict[str, list[float]]]:
    """x labels (oldest version first) and one series per metric, for ACTIVE versions."""
    trained = [v for v in versions if v.get("metrics")]
    trained.sort(key=lambda v: float(v.get("creationDateTime") or 0))
    labels = [str(v.get("solutionVersionArn", "")).rsplit("/", 1)[-1] for v in trained]
    series: dict[str, list[float]] = {}
    for name in METRIC_NAMES:
        values = [float(v["metrics"].get(name, float("nan"))) for v in trained]
        if any(value == value for value in values):
            series[SHORT_METRIC[name]] = [0.0 if value != value else value for value in values]
    return labels, series
