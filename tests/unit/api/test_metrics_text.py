"""The Prometheus text exposition of ``/metrics`` and the compiled request validator."""

from __future__ import annotations

from typing import Any

import pytest

from openpersonalize.api.metrics import (
    Family,
    Sample,
    ServerCounters,
    counter_families,
    escape_label,
    format_value,
    render,
)
from openpersonalize.errors import InvalidInputException
from openpersonalize.wire import models
from openpersonalize.wire import validate as wire_validate


def test_label_escaping_and_values() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert format_value(3.0) == "3"
    assert format_value(2.5) == "2.5"
    assert format_value(float("nan")) == "NaN"
    assert format_value(float("inf")) == "+Inf"


def test_render_families() -> None:
    text = render(
        [
            Family("x_total", "counter", "Things.", [Sample({}, 4)]),
            Family(
                "y", "gauge", "Per source.", [Sample({"source": 'q"s', "window_start": "900"}, 1.5)]
            ),
        ]
    )
    assert text == (
        "# HELP x_total Things.\n"
        "# TYPE x_total counter\n"
        "x_total 4\n"
        "# HELP y Per source.\n"
        "# TYPE y gauge\n"
        'y{source="q\\"s",window_start="900"} 1.5\n'
    )


def test_server_counters() -> None:
    counters = ServerCounters()
    counters.request("personalize-events", "PutEvents")
    counters.request("personalize-events", "PutEvents")
    counters.error("personalize-events", "PutEvents", "InvalidInputException")
    counters.events(accepted=19, duplicates=1)
    text = render(counter_families(counters))
    assert (
        'openpersonalize_requests_total{service="personalize-events",operation="PutEvents"} 2'
        in text
    )
    assert (
        'openpersonalize_request_errors_total{service="personalize-events",'
        'operation="PutEvents",code="InvalidInputException"} 1' in text
    )
    assert "openpersonalize_put_events_accepted_total 19\n" in text
    assert "openpersonalize_put_events_duplicates_total 1\n" in text


GOOD: dict[str, Any] = {
    "trackingId": "t",
    "userId": "u",
    "sessionId": "s",
    "eventList": [
        {
            "eventType": "click",
            "sentAt": 1_700_000_000,
            "itemId": "i",
            "impression": ["a", "b"],
            "metricAttribution": {"eventAttributionSource": "email"},
        }
    ],
}


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"eventList": []},
        {"eventList": [{"sentAt": 1}]},
        {"eventList": [{"eventType": "", "sentAt": 1}]},
        {"eventList": [{"eventType": "x", "sentAt": "soon"}]},
        {"eventList": [{"eventType": "x", "sentAt": 1, "eventValue": True}]},
        {"eventList": [{"eventType": "x", "sentAt": 1, "impression": []}]},
        {"eventList": [{"eventType": "x", "sentAt": 1, "impression": [""]}]},
        {"eventList": [{"eventType": "x", "sentAt": 1, "recommendationId": "r" * 41}]},
        {"eventList": [{"eventType": "x", "sentAt": 1, "metricAttribution": {}}]},
        {
            "eventList": [
                {
                    "eventType": "x",
                    "sentAt": 1,
                    "metricAttribution": {"eventAttributionSource": " "},
                }
            ]
        },
        {"userId": 5},
        {"sessionId": None},
        {"eventList": [GOOD["eventList"][0]] * 11},
    ],
)
def test_compiled_validator_agrees_with_the_reference(change: dict[str, Any]) -> None:
    shape = models.operation(models.EVENTS, "PutEvents").input_shape
    params = {**GOOD, **change}
    errors = wire_validate._Errors()
    wire_validate._check(shape, params, "", errors)
    assert wire_validate._compiled(shape)(params) == (not errors.items)
    if errors.items:
        with pytest.raises(InvalidInputException) as caught:
            wire_validate.validate(shape, params)
        assert caught.value.message.startswith(f"{len(errors.items)} validation error")
    else:
        wire_validate.validate(shape, params)
