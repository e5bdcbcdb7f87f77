"""The event log's group commit seen from an event loop: ``append_async`` resolves once the
flusher thread has fsync'ed the batch, concurrent callers share fsyncs, duplicates wait for the
original, and a closed log refuses appends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from openpersonalize.store.event_log import EventLog
from openpersonalize.store.records import RecordStore

DATASET = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/INTERACTIONS"


def event(n: int, event_id: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "USER_ID": f"u{n % 7}",
        "ITEM_ID": f"i{n}",
        "EVENT_TYPE": "click",
        "TIMESTAMP": 1_700_000_000 + n,
        "SESSION_ID": "s",
    }
    if event_id is not None:
        record["EVENT_ID"] = event_id
    return record


def test_concurrent_async_appends_are_all_durable(tmp_path: Path) -> None:
    records = RecordStore(str(tmp_path / "records"))
    log = EventLog(tmp_path / "events", records)
    dataset_log = log.open(DATASET)

    async def run() -> list[int]:
        results = await asyncio.gather(
            *(dataset_log.append_async([event(10 * c + k) for k in range(10)]) for c in range(50))
        )
        return [r.accepted for r in results]

    assert asyncio.run(run()) == [10] * 50
    # Visible in the recent history as soon as the appends returned.
    assert len(log.recent_interactions(DATASET, "u0")) == len(range(0, 500, 7))
    generated = {h.event_id for u in range(7) for h in log.recent_interactions(DATASET, f"u{u}")}
    assert len(generated) == 500 and all(e and len(e) == 32 for e in generated)
    log.close()

    reopened = EventLog(tmp_path / "events", records)
    assert reopened.open(DATASET).pending_records() == 500
    reopened.close()


def test_duplicates_only_batch_and_closed_log(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events", RecordStore(str(tmp_path / "records")))
    dataset_log = log.open(DATASET)

    async def run() -> tuple[int, int, int, int]:
        first, again = await asyncio.gather(
            dataset_log.append_async([event(1, "e1")]),
            dataset_log.append_async([event(1, "e1")]),
        )
        return first.accepted, first.duplicates, again.accepted, again.duplicates

    assert asyncio.run(run()) == (1, 0, 0, 1)
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        dataset_log.append([event(2)])
