"""The SVG chart helpers: well-formed SVG, escaped labels, placeholders for empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from openpersonalize.console import charts, insights

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(
        str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    )


def test_bar_chart_draws_one_bar_per_value_and_escapes_labels() -> None:
    svg = parse(charts.bar_chart(["<a>", "b", "c"], [3, 0, 7], title="Per day & more"))
    assert len(svg.findall(f"{SVG}rect")) == 3
    assert svg.find(f"{SVG}title").text == "Per day & more"
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "<a>" in texts  # escaped in the markup, intact once parsed


@pytest.mark.parametrize(
    "markup",
    [
        charts.bar_chart([], [], title="t"),
        charts.bar_chart(["a"], [0], title="t"),
        charts.hbar_chart({}, title="t"),
        charts.line_chart({}, title="t"),
        charts.line_chart({"s": []}, title="t"),
        charts.grouped_bar_chart([], {}, title="t"),
    ],
)
def test_empty_data_gives_a_placeholder(markup: str) -> None:
    svg = parse(markup)
    assert "no data yet" in "".join(t.text or "" for t in svg.iter(f"{SVG}text"))


def test_hbar_chart_orders_largest_first_with_percentages() -> None:
    svg = parse(charts.hbar_chart({"view": 1, "purchase": 3}, title="mix"))
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert labels.index("purchase") < labels.index("view")
    assert "3 (75.0%)" in labels


def test_line_chart_with_log_scale_and_single_point() -> None:
    svg = parse(charts.line_chart({"a": [1000, 10, 1]}, title="tail", log_y=True))
    assert len(svg.findall(f"{SVG}polyline")) == 1
    single = parse(charts.line_chart({"a": [0.5], "b": [0.25]}, title="m", y_max=1.0))
    assert len(single.findall(f"{SVG}circle")) == 2


def test_nice_axis_tops() -> None:
    assert charts._nice_max(28) == 32
    assert charts._nice_max(50) == 60
    assert charts._nice_max(0.7) == 0.8
    assert charts._nice_max(0) == 1.0


def test_metrics_chart_switches_from_bars_to_lines() -> None:
    def version(i: int) -> dict[str, object]:
        return {
            "solutionVersionArn": f"arn:x:solution/s/v{i}",
            "creationDateTime": float(i),
            "metrics": {"coverage": 0.5, "precision_at_10": 0.1 * i},
        }

    few = parse(insights.metrics_chart([version(i) for i in range(2)]))
    assert few.findall(f"{SVG}polyline") == []
    many = parse(insights.metrics_chart([version(i) for i in range(6)]))
    assert len(many.findall(f"{SVG}polyline")) == 2
    labels, series = insights.metrics_series([version(2), version(1), {"metrics": {}}])
    assert labels == ["v1", "v2"]
    assert series["P@10"] == pytest.approx([0.1, 0.2])
