"""The real-time event log: durability across kill -9, dedupe, recent history, compaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from openpersonalize.store.event_log import EventLog, LogConfig, LogInUseError
from openpersonalize.store.objects import ObjectStoreSettings
from openpersonalize.store.records import RecordStore

Backend = tuple[str, ObjectStoreSettings]
DATASET = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/INTERACTIONS"
ITEMS = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"


def event(
    user: str, item: str, ts: int, event_id: str, event_type: str = "click"
) -> dict[str, Any]:
    return {
        "USER_ID": user,
        "ITEM_ID": item,
        "EVENT_TYPE": event_type,
        "TIMESTAMP": ts,
        "EVENT_ID": event_id,
        "SESSION_ID": "s",
    }


@pytest.fixture
def records(backend: Backend) -> RecordStore:
    return RecordStore(backend[0], backend[1])


def test_recent_history_includes_just_appended(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events", RecordStore(str(tmp_path / "records")))
    log.open(DATASET, LogConfig(history_limit=3))
    log.append(DATASET, [event("u1", f"i{n}", 100 + n, f"e{n}") for n in range(5)])
    log.append(DATASET, [event("u1", "p", 50, "p1", "purchase"), event("u2", "x", 1, "x1")])
    history = log.recent_interactions(DATASET, "u1")
    assert [(h.item_id, h.event_type) for h in history] == [
        ("p", "purchase"),
        ("i2", "click"),
        ("i3", "click"),
        ("i4", "click"),
    ]
    assert [h.item_id for h in log.recent_interactions(DATASET, "u1", 1)] == ["p", "i4"]
    assert log.recent_interactions(DATASET, "nobody") == []
    log.close()


def test_event_id_dedupe_survives_reopen_and_compaction(
    tmp_path: Path, records: RecordStore
) -> None:
    log = EventLog(tmp_path / "events", records)
    first = log.append(DATASET, [event("u1", "a", 1, "e1"), event("u1", "a", 1, "e1")])
    assert (first.accepted, first.duplicates) == (1, 1)
    assert log.append(DATASET, [event("u1", "b", 2, "e1")]).duplicates == 1
    assert log.compact(DATASET) == 1
    log.append(DATASET, [event("u1", "c", 3, "e2")])
    log.close()

    reopened = EventLog(tmp_path / "events", records)
    result = reopened.append(DATASET, [event("u1", "d", 4, "e1"), event("u1", "d", 4, "e2")])
    assert (result.accepted, result.duplicates) == (0, 2)
    # History is rebuilt from the compacted segment and the uncompacted log.
    assert [h.item_id for h in reopened.recent_interactions(DATASET, "u1")] == ["a", "c"]
    assert reopened.compact(DATASET) == 1
    assert records.read(DATASET, ["ITEM_ID"], source="PUT")["ITEM_ID"].to_pylist() == ["a", "c"]
    assert reopened.compact(DATASET) == 0
    reopened.close()


def test_compaction_is_exactly_once_with_concurrent_appends(
    tmp_path: Path, records: RecordStore
) -> None:
    log = EventLog(tmp_path / "events", records, rotate_bytes=2048)
    dataset_log = log.open(DATASET)

    def writer(n: int) -> None:
        for i in range(30):
            batch = [event(f"u{n}", f"i{k}", i, f"{n}-{i}-{k}") for k in range(10)]
            assert log.append(DATASET, batch).accepted == 10

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    moved = 0
    while any(t.is_alive() for t in threads):
        moved += log.compact(DATASET)
    for t in threads:
        t.join()
    moved += log.compact(DATASET)
    assert moved == 1200
    assert dataset_log.pending_records() == 0
    ids = records.read(DATASET, ["EVENT_ID"], source="PUT")["EVENT_ID"].to_pylist()
    assert len(ids) == len(set(ids)) == 1200
    # Rotated files below the checkpoint are gone; the log keeps working after reopen.
    assert len(list((dataset_log.folder).glob("wal-*.log"))) == 1
    log.close()
    log = EventLog(tmp_path / "events", records)
    assert log.append(DATASET, [event("u0", "z", 99, "new")]).accepted == 1
    assert log.recent_interactions(DATASET, "u0")[-1].item_id == "z"
    log.close()


def test_items_upsert_through_the_log(tmp_path: Path, records: RecordStore) -> None:
    log = EventLog(tmp_path / "events", records)
    log.open(ITEMS, LogConfig.for_kind("ITEMS"))
    log.append(ITEMS, [{"ITEM_ID": "a", "GENRE": "x"}, {"ITEM_ID": "b", "GENRE": "y"}])
    log.append(ITEMS, [{"ITEM_ID": "a", "GENRE": "z"}])
    log.compact(ITEMS)
    table = records.read(ITEMS)
    assert sorted(zip(table["ITEM_ID"].to_pylist(), table["GENRE"].to_pylist(), strict=True)) == [
        ("a", "z"),
        ("b", "y"),
    ]
    log.close()


def test_delete_users(tmp_path: Path, records: RecordStore) -> None:
    log = EventLog(tmp_path / "events", records)
    log.append(DATASET, [event("u1", "a", 1, "1"), event("u2", "b", 2, "2")])
    log.compact(DATASET)
    log.append(DATASET, [event("u1", "c", 3, "3")])
    assert log.delete_users(DATASET, ["u1"]) == 2
    assert log.recent_interactions(DATASET, "u1") == []
    assert records.read(DATASET, ["USER_ID"])["USER_ID"].to_pylist() == ["u2"]
    log.close()


def test_second_process_cannot_open_an_open_log(tmp_path: Path) -> None:
    records = RecordStore(str(tmp_path / "records"))
    log = EventLog(tmp_path / "events", records)
    log.open(DATASET)
    with pytest.raises(LogInUseError):
        EventLog(tmp_path / "events", records).open(DATASET)
    log.close()


def test_truncated_tail_is_ignored_and_trimmed(tmp_path: Path) -> None:
    records = RecordStore(str(tmp_path / "records"))
    log = EventLog(tmp_path / "events", records)
    dataset_log = log.open(DATASET)
    log.append(DATASET, [event("u1", "a", 1, "e1")])
    log.close()
    [wal] = dataset_log.folder.glob("wal-*.log")
    good_size = wal.stat().st_size
    with wal.open("ab") as stream:  # a torn frame: a header promising more than is there
        stream.write((500).to_bytes(4, "little") + b"\x00\x00\x00\x00" + b'[{"USER_ID":')
    log = EventLog(tmp_path / "events", records)
    assert [h.item_id for h in log.recent_interactions(DATASET, "u1")] == ["a"]
    assert wal.stat().st_size == good_size
    log.append(DATASET, [event("u1", "b", 2, "e2")])
    assert log.compact(DATASET) == 2
    log.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from openpersonalize.store.event_log import EventLog
    from openpersonalize.store.records import RecordStore

    root = sys.argv[1]
    log = EventLog(root + "/events", RecordStore(root + "/records"))
    i = 0
    while True:
        batch = [
            {"USER_ID": "u", "ITEM_ID": f"i{i}", "EVENT_TYPE": "click", "TIMESTAMP": i,
             "EVENT_ID": f"{i}-{k}"}
            for k in range(10)
        ]
        log.append(sys.argv[2], batch)
        print(i, flush=True)
        i += 1
    """
)


def test_acknowledged_batches_survive_kill_9(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path), DATASET],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    acked: list[int] = []
    for line in child.stdout:
        acked.append(int(line))
        if len(acked) >= 100:
            break
    os.kill(child.pid, signal.SIGKILL)
    acked.extend(int(line) for line in child.stdout)  # acknowledged before it died
    child.wait()
    child.stdout.close()
    # The writer was killed, not dead on its own before acknowledging anything.
    assert child.returncode == -signal.SIGKILL
    assert len(acked) >= 100

    log = EventLog(tmp_path / "events", RecordStore(str(tmp_path / "records")))
    log.compact(DATASET)
    ids = set(log.records.read(DATASET, ["EVENT_ID"])["EVENT_ID"].to_pylist())
    for i in acked:
        assert {f"{i}-{k}" for k in range(10)} <= ids, f"acknowledged batch {i} was lost"
    # Whole batches or nothing: every batch present has all of its ten events.
    assert len(ids) % 10 == 0
    log.close()
