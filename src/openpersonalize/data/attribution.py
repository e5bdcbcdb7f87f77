"""Metric attribution arithmetic: events → per-metric aggregates over 15-minute windows.

A metric attribution lists up to ten metrics, each ``{metricName, eventType, expression}`` with
the expression ``SAMPLECOUNT()``, ``SUM(Items.COL)`` or ``SUM(Interactions.COL)``. An aggregate is
keyed by (metric name, event type, attribution source, window start) where the window is the
15-minute slot of the event's timestamp. This module is pure: the caller hands it an *events
table* and gets the aggregates back; where events come from (PutEvents, imports), how sources are
resolved and where aggregates are kept is decided elsewhere.

The events table has the columns of :data:`EVENT_COLUMNS` plus one float column per summed value,
named like the expression's argument (``Items.PRICE``, ``Interactions.EVENT_VALUE``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

WINDOW_SECONDS = 900
# Only events newer than this reach the live (CloudWatch-like) metrics, as in Personalize.
LIVE_MAX_AGE_SECONDS = 14 * 24 * 3600
UNDEFINED_SOURCE = "SOURCE_NAME_UNDEFINED"
EVENT_COLUMNS = ("EVENT_TYPE", "TIMESTAMP", "SOURCE")
REPORT_HEADER = (
    "METRIC_NAME",
    "EVENT_TYPE",
    "VALUE",
    "MATH_FUNCTION",
    "EVENT_ATTRIBUTION_SOURCE",
    "TIMESTAMP",
)

MathFunction = Literal["samplecount", "sum"]
# (metric name, event type, source, window start)
AggregateKey = tuple[str, str, str, int]

_EXPRESSION = re.compile(
    r"^\s*(?:SAMPLECOUNT\(\s*\)|SUM\(\s*(Items|Interactions)\.([A-Za-z_][A-Za-z0-9_]*)\s*\))\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MetricSpec:
    """One metric of a metric attribution, parsed."""

    name: str
    event_type: str
    function: MathFunction
    dataset: Literal["Items", "Interactions"] | None = None  # None for SAMPLECOUNT()
    column: str | None = None  # upper case, as schema columns are spelt

    @property
    def value_column(self) -> str | None:
        """The events-table column this metric sums (``Items.PRICE``), None for counts."""
        return None if self.dataset is None else f"{self.dataset}.{self.column}"

    @classmethod
    def parse(cls, metric: Mapping[str, Any]) -> MetricSpec:
        match = _EXPRESSION.match(str(metric["expression"]))
        if match is None:
            raise ValueError(f"invalid metric expression {metric['expression']!r}")
        dataset, column = match.groups()
        if dataset is None:
            return cls(str(metric["metricName"]), str(metric["eventType"]), "samplecount")
        canonical: Literal["Items", "Interactions"] = (
            "Items" if dataset.lower() == "items" else "Interactions"
        )
        return cls(
            str(metric["metricName"]), str(metric["eventType"]), "sum", canonical, column.upper()
        )


def parse_metrics(metrics: Iterable[Mapping[str, Any]]) -> list[MetricSpec]:
    return [MetricSpec.parse(m) for m in metrics]


def window_start(timestamp: float) -> int:
    return int(timestamp // WINDOW_SECONDS) * WINDOW_SECONDS


@dataclass(frozen=True)
class Aggregate:
    """One metric's value for one (event type, source, window)."""

    metric_name: str
    event_type: str
    source: str
    window_start: int
    math_function: MathFunction
    value: float

    @property
    def key(self) -> AggregateKey:
        return (self.metric_name, self.event_type, self.source, self.window_start)


def aggregate(events: pa.Table, metrics: Sequence[MetricSpec]) -> list[Aggregate]:
    """Every metric over the events table (vectorised; one group-by per metric). Events whose
    summed value is null (an unknown item, a missing column) count as 0 towards a SUM; rows with
    a null timestamp or event type are ignored."""
    out: list[Aggregate] = []
    if events.num_rows == 0:
        return out
    timestamps = pc.cast(events["TIMESTAMP"], pa.float64())
    windows = pc.multiply(
        pc.cast(pc.floor(pc.divide(timestamps, float(WINDOW_SECONDS))), pa.int64()),
        WINDOW_SECONDS,
    )
    sources = pc.fill_null(pc.cast(events["SOURCE"], pa.string()), UNDEFINED_SOURCE)
    event_types = pc.cast(events["EVENT_TYPE"], pa.string())
    for metric in metrics:
        mask = pc.fill_null(pc.equal(event_types, metric.event_type), False)
        if metric.function == "sum":
            name = metric.value_column or ""
            if name in events.column_names:
                values = pc.cast(events[name], pa.float64())
            else:
                values = pa.nulls(events.num_rows, pa.float64())
        else:
            values = pa.nulls(events.num_rows, pa.float64())
        selected = pa.table({"source": sources, "window": windows, "value": values}).filter(
            pc.and_(mask, pc.is_valid(windows))
        )
        if selected.num_rows == 0:
            continue
        if metric.function == "sum":
            grouped = selected.group_by(["source", "window"]).aggregate(
                [("value", "sum", pc.ScalarAggregateOptions(min_count=0))]
            )
            column = "value_sum"
        else:
            grouped = selected.group_by(["source", "window"]).aggregate([("window", "count")])
            column = "window_count"
        for source, window, value in zip(
            grouped["source"].to_pylist(),
            grouped["window"].to_pylist(),
            grouped[column].to_pylist(),
            strict=True,
        ):
            out.append(
                Aggregate(
                    metric.name,
                    metric.event_type,
                    str(source),
                    int(window),
                    metric.function,
                    float(value or 0.0),
                )
            )
    return out


def aggregate_reference(
    rows: Iterable[Mapping[str, Any]], metrics: Sequence[MetricSpec]
) -> list[Aggregate]:
    """The same as :func:`aggregate`, one row dict at a time: the slow, obviously right version
    the tests compare the vectorised one against."""
    totals: dict[tuple[str, str, str, int], tuple[MathFunction, float]] = {}
    for row in rows:
        timestamp, event_type = row.get("TIMESTAMP"), row.get("EVENT_TYPE")
        if timestamp is None or event_type is None:
            continue
        if isinstance(timestamp, float) and math.isnan(timestamp):
            continue
        source = row.get("SOURCE") or UNDEFINED_SOURCE
        for metric in metrics:
            if event_type != metric.event_type:
                continue
            key = (metric.name, metric.event_type, str(source), window_start(float(timestamp)))
            previous = totals.get(key, (metric.function, 0.0))[1]
            if metric.function == "sum":
                value = row.get(metric.value_column or "")
                add = 0.0 if value is None else float(value)
            else:
                add = 1.0
            totals[key] = (metric.function, previous + add)
    return [Aggregate(*key, function, value) for key, (function, value) in totals.items()]


def merge(aggregates: Iterable[Aggregate]) -> list[Aggregate]:
    """Aggregates with equal keys added together (both functions are sums of counts/values)."""
    merged: dict[AggregateKey, Aggregate] = {}
    for a in aggregates:
        seen = merged.get(a.key)
        merged[a.key] = (
            a if seen is None else Aggregate(*a.key, a.math_function, seen.value + a.value)
        )
    return list(merged.values())


def report_csv(aggregates: Iterable[Aggregate]) -> str:
    """The S3 report Personalize writes for a bulk import (columns of :data:`REPORT_HEADER`;
    TIMESTAMP is the window start in epoch seconds), sorted by metric, window and source."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_HEADER)
    ordered = sorted(aggregates, key=lambda a: (a.metric_name, a.window_start, a.source))
    for a in ordered:
        value = repr(float(a.value))
        writer.writerow(
            (a.metric_name, a.event_type, value, a.math_function, a.source, a.window_start)
        )
    return out.getvalue()


def report_name(import_mode: str, timestamp: float) -> str:
    """``AggregatedAttributionMetrics - ImportMethod - Timestamp.csv`` (epoch seconds)."""
    return f"AggregatedAttributionMetrics - {import_mode} - {int(timestamp)}.csv"
