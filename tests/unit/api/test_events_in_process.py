"""The events handlers called in-process from a thread (as the console does), through the
blocking adapter of the async handlers."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from openpersonalize.api.app import REST_OPERATIONS
from openpersonalize.api.rest_handlers import events  # noqa: F401  (registers the handlers)
from openpersonalize.controlplane import OPERATIONS
from openpersonalize.controlplane.context import make_context
from openpersonalize.settings import load_config
from tests.schemas import BASIC_INTERACTIONS


def test_put_events_from_a_thread(tmp_path: Path) -> None:
    ctx = make_context(load_config({"data_dir": str(tmp_path / "data")}, environ={}))
    group = OPERATIONS["CreateDatasetGroup"](ctx, {"name": "g"})["datasetGroupArn"]
    schema = OPERATIONS["CreateSchema"](ctx, {"name": "g", "schema": BASIC_INTERACTIONS})[
        "schemaArn"
    ]
    dataset = OPERATIONS["CreateDataset"](
        ctx,
        {"name": "g", "schemaArn": schema, "datasetGroupArn": group, "datasetType": "Interactions"},
    )["datasetArn"]
    tracking = OPERATIONS["CreateEventTracker"](ctx, {"name": "g", "datasetGroupArn": group})[
        "trackingId"
    ]
    put_events = REST_OPERATIONS[("personalize-events", "PutEvents")]
    results: list[Any] = []
    body = {
        "trackingId": tracking,
        "userId": "u1",
        "sessionId": "s1",
        "eventList": [{"eventType": "click", "sentAt": 1_700_000_000, "itemId": "i1"}],
    }
    thread = threading.Thread(target=lambda: results.append(put_events(ctx, body)))
    thread.start()
    thread.join()
    assert results == [{}]
    assert [h.item_id for h in ctx.event_log.recent_interactions(dataset, "u1")] == ["i1"]
    ctx.event_log.close()
