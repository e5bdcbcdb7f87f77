"""``GET /metrics``: the Prometheus text exposition format (version 0.0.4), written by hand.

Two kinds of series:

- server counters of this process since it started: requests and errors per operation, events
  accepted (durable) and dropped as duplicates by PutEvents;
- metric attribution aggregates (see :mod:`openpersonalize.api.attribution`): one gauge sample per
  metric, event type, attribution source and 15-minute window of the last 14 days, the
  CloudWatch-like view that Personalize offers for PutEvents and incremental imports.

The format is small enough that a dependency (``prometheus-client``) would buy nothing: counters
are plain integers behind a lock, and rendering is string formatting with the format's escaping.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from openpersonalize import __version__
from openpersonalize.controlplane.context import Context

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ATTRIBUTION_METRIC = "openpersonalize_metric_attribution_value"


class ServerCounters:
    """Per-process request counters (thread-safe; cheap enough for every request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.errors: Counter[tuple[str, str, str]] = Counter()
        self.events_accepted = 0
        self.events_duplicate = 0

    def request(self, service: str, operation: str) -> None:
        with self._lock:
            self.requests[(service, operation)] += 1

    def error(self, service: str, operation: str, code: str) -> None:
        with self._lock:
            self.errors[(service, operation, code)] += 1

    def events(self, accepted: int, duplicates: int) -> None:
        with self._lock:
            self.events_accepted += accepted
            self.events_duplicate += duplicates


_COUNTERS: dict[int, ServerCounters] = {}
_COUNTERS_LOCK = threading.Lock()


def server_counters(ctx: Context) -> ServerCounters:
    with _COUNTERS_LOCK:
        return _COUNTERS.setdefault(id(ctx), ServerCounters())


# -- the text format ------------------------------------------------------------------------------


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    if value != value:  # NaN
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(value)


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # counter | gauge
    help: str
    samples: Sequence[Sample]


def render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            if sample.labels:
                labels = ",".join(f'{k}="{escape_label(v)}"' for k, v in sample.labels.items())
                lines.append(f"{family.name}{{{labels}}} {format_value(sample.value)}")
            else:
                lines.append(f"{family.name} {format_value(sample.value)}")
    return "\n".join(lines) + "\n"


def counter_families(counters: ServerCounters) -> list[Family]:
    with counters._lock:
        requests = sorted(counters.requests.items())
        errors = sorted(counters.errors.items())
        accepted, duplicate = counters.events_accepted, counters.events_duplicate
    return [
        Family(
            "openpersonalize_info",
            "gauge",
            "The openpersonalize version serving this endpoint.",
            [Sample({"version": __version__}, 1)],
        ),
        Family(
            "openpersonalize_requests_total",
            "counter",
            "API requests received by this process, per service and operation.",
            [Sample({"service": s, "operation": o}, n) for (s, o), n in requests],
        ),
        Family(
            "openpersonalize_request_errors_total",
            "counter",
            "API requests answered with an error, per service, operation and AWS error code.",
            [Sample({"service": s, "operation": o, "code": c}, n) for (s, o, c), n in errors],
        ),
        Family(
            "openpersonalize_put_events_accepted_total",
            "counter",
            "Events accepted by PutEvents and fsync'ed to the event log.",
            [Sample({}, accepted)],
        ),
        Family(
            "openpersonalize_put_events_duplicates_total",
            "counter",
            "Events dropped by PutEvents because their eventId was seen before.",
            [Sample({}, duplicate)],
        ),
    ]


def render_metrics(ctx: Context) -> str:
    """The whole ``/metrics`` page (blocking: reads the attribution store)."""
    from openpersonalize.api.attribution import family  # it imports this module

    return render([*counter_families(server_counters(ctx)), family(ctx)])
