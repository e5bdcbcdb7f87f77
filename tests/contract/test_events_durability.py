"""Acknowledged events survive ``kill -9`` of the server; the import minimum is enforced."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.contract.data_flow import (
    create_group,
    local_export,
    run_export,
    run_import,
)
from tests.contract.server import RunningServer
from tests.schemas import BASIC_INTERACTIONS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(
        tmp_path_factory.mktemp("durable") / "data", {"min_import_records": 10}
    ).start()
    yield running
    running.stop()


def test_put_events_survive_kill_9(server: RunningServer, tmp_path: Path) -> None:
    personalize = server.client("personalize")
    group, datasets = create_group(personalize, "durable", {"Interactions": BASIC_INTERACTIONS})
    tracking = personalize.create_event_tracker(name="durable", datasetGroupArn=group)["trackingId"]

    def send(batch: int) -> None:
        events = server.client("personalize-events")
        events.put_events(
            trackingId=tracking,
            userId=f"u{batch % 13}",
            sessionId=f"s{batch}",
            eventList=[
                {"eventType": "click", "sentAt": 1_700_000_000 + i, "itemId": f"i{batch}-{i}"}
                for i in range(10)
            ],
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(60)))
    server.stop(kill=True)  # no shutdown, no compaction: the log alone holds the newest
    server.start()

    personalize = server.client("personalize")
    out = tmp_path / "out"
    job = run_export(personalize, datasets["Interactions"], str(out), "after-kill", "PUT")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    _, rows = local_export(out, "after-kill")
    assert len(rows) == 600
    assert len({r["ITEM_ID"] for r in rows}) == 600
    # And the log still takes events after recovery.
    send(60)
    job = run_export(personalize, datasets["Interactions"], str(out), "after-more", "ALL")
    assert len(local_export(out, "after-more")[1]) == 610


def test_minimum_records_per_import(server: RunningServer, tmp_path: Path) -> None:
    personalize: Any = server.client("personalize")
    _, datasets = create_group(personalize, "minimum", {"Interactions": BASIC_INTERACTIONS})
    path = tmp_path / "few.csv"
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu1,i1,1,click\nu2,i2,2,click\n")
    job = run_import(personalize, datasets["Interactions"], str(path), "too-few")
    assert job["status"] == "CREATE FAILED"
    assert "at least 10 records" in job["failureReason"]
