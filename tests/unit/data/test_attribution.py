"""Metric attribution arithmetic: expressions, 15-minute windows, the vectorised aggregation
against the one-row-at-a-time reference, and the S3 report."""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openpersonalize.data.attribution import (
    REPORT_HEADER,
    UNDEFINED_SOURCE,
    Aggregate,
    MetricSpec,
    aggregate,
    aggregate_reference,
    merge,
    report_csv,
    report_name,
    window_start,
)

METRICS = [
    MetricSpec.parse({"metricName": "CLICKS", "eventType": "click", "expression": "SAMPLECOUNT()"}),
    MetricSpec.parse(
        {"metricName": "REVENUE", "eventType": "buy", "expression": "SUM(Items.PRICE)"}
    ),
    MetricSpec.parse(
        {"metricName": "VALUE", "eventType": "buy", "expression": "sum( interactions.event_value )"}
    ),
]


def as_set(aggregates: list[Aggregate]) -> set[tuple[Any, ...]]:
    return {(*a.key, a.math_function, round(a.value, 6)) for a in aggregates}


def test_expressions_parse() -> None:
    count, revenue, value = METRICS
    assert (count.function, count.dataset, count.value_column) == ("samplecount", None, None)
    assert (revenue.function, revenue.value_column) == ("sum", "Items.PRICE")
    assert (value.dataset, value.column) == ("Interactions", "EVENT_VALUE")
    with pytest.raises(ValueError, match="invalid metric expression"):
        MetricSpec.parse({"metricName": "X", "eventType": "e", "expression": "AVG(Items.PRICE)"})


def test_windows_are_15_minute_slots() -> None:
    assert window_start(0) == 0
    assert window_start(899.9) == 0
    assert window_start(900) == 900
    assert window_start(1_700_000_123) == 1_700_000_100  # 1_700_000_100 = 1_888_889 * 900


def test_aggregate_known_answer() -> None:
    events = pa.table(
        {
            "EVENT_TYPE": ["click", "click", "buy", "buy", "click", "view"],
            "TIMESTAMP": [0.0, 899.0, 10.0, 20.0, 900.0, 5.0],
            "SOURCE": ["a", "a", "a", None, "b", "a"],
            "Items.PRICE": [None, None, 2.5, None, None, 1.0],
            "Interactions.EVENT_VALUE": [None, None, 1.0, 4.0, None, None],
        }
    )
    got = as_set(aggregate(events, METRICS))
    assert got == {
        ("CLICKS", "click", "a", 0, "samplecount", 2.0),
        ("CLICKS", "click", "b", 900, "samplecount", 1.0),
        ("REVENUE", "buy", "a", 0, "sum", 2.5),
        ("REVENUE", "buy", UNDEFINED_SOURCE, 0, "sum", 0.0),  # unknown item: counts 0
        ("VALUE", "buy", "a", 0, "sum", 1.0),
        ("VALUE", "buy", UNDEFINED_SOURCE, 0, "sum", 4.0),
    }


def test_missing_value_column_sums_zero() -> None:
    events = pa.table({"EVENT_TYPE": ["buy"], "TIMESTAMP": [1.0], "SOURCE": ["s"]})
    assert as_set(aggregate(events, METRICS[1:2])) == {("REVENUE", "buy", "s", 0, "sum", 0.0)}


rows = st.lists(
    st.fixed_dictionaries(
        {
            "EVENT_TYPE": st.sampled_from(["click", "buy", "view", None]),
            "TIMESTAMP": st.one_of(st.none(), st.integers(0, 10_000).map(float)),
            "SOURCE": st.sampled_from(["a", "b", None]),
            "Items.PRICE": st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
            "Interactions.EVENT_VALUE": st.one_of(st.none(), st.integers(-5, 5).map(float)),
        }
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_vectorised_matches_reference(events: list[dict[str, Any]]) -> None:
    schema = pa.schema(
        [
            ("EVENT_TYPE", pa.string()),
            ("TIMESTAMP", pa.float64()),
            ("SOURCE", pa.string()),
            ("Items.PRICE", pa.float64()),
            ("Interactions.EVENT_VALUE", pa.float64()),
        ]
    )
    table = pa.Table.from_pylist(events, schema=schema)
    assert as_set(aggregate(table, METRICS)) == as_set(aggregate_reference(events, METRICS))


def test_merge_adds_equal_keys() -> None:
    a = Aggregate("M", "click", "s", 0, "samplecount", 2.0)
    b = Aggregate("M", "click", "s", 0, "samplecount", 3.0)
    c = Aggregate("M", "click", "t", 0, "samplecount", 1.0)
    assert as_set(merge([a, b, c])) == {
        ("M", "click", "s", 0, "samplecount", 5.0),
        ("M", "click", "t", 0, "samplecount", 1.0),
    }


def test_report_csv_and_name() -> None:
    text = report_csv(
        [
            Aggregate("COUNTWATCHES", "WATCH", "arn:rec/2", 1800, "samplecount", 112.0),
            Aggregate("COUNTWATCHES", "WATCH", "arn:rec/1", 900, "samplecount", 12.0),
        ]
    )
    parsed = list(csv.reader(io.StringIO(text)))
    assert tuple(parsed[0]) == REPORT_HEADER
    assert parsed[1:] == [
        ["COUNTWATCHES", "WATCH", "12.0", "samplecount", "arn:rec/1", "900"],
        ["COUNTWATCHES", "WATCH", "112.0", "samplecount", "arn:rec/2", "1800"],
    ]
    assert report_name("INCREMENTAL", 1_700_000_000.7) == (
        "AggregatedAttributionMetrics - INCREMENTAL - 1700000000.csv"
    )
