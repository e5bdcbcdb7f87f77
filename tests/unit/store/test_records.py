"""The record store, against every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from openpersonalize.store.objects import ObjectStoreSettings
from openpersonalize.store.records import CheckpointMismatch, LogCheckpoint, RecordStore

Backend = tuple[str, ObjectStoreSettings]
ITEMS = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"
INTERACTIONS = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/INTERACTIONS"


def interactions(users: list[str], items: list[str], start: int = 0) -> pa.Table:
    return pa.table(
        {
            "USER_ID": users,
            "ITEM_ID": items,
            "TIMESTAMP": pa.array(range(start, start + len(users)), pa.int64()),
        }
    )


@pytest.fixture
def store(backend: Backend) -> RecordStore:
    return RecordStore(backend[0], backend[1], segment_rows=3)


def test_full_import_replaces_bulk_and_keeps_put(store: RecordStore) -> None:
    store.replace_bulk(INTERACTIONS, [interactions(["u1", "u2"], ["a", "b"])])
    store.append(INTERACTIONS, interactions(["u9"], ["z"], 100), source="PUT")
    written = store.replace_bulk(
        INTERACTIONS,
        iter([interactions(["u3"] * 3, ["c", "d", "e"]), interactions(["u4"] * 3, list("fgh"))]),
    )
    assert written == 6
    assert store.read(INTERACTIONS, ["USER_ID"], source="BULK")["USER_ID"].to_pylist() == [
        "u3",
        "u3",
        "u3",
        "u4",
        "u4",
        "u4",
    ]
    assert store.read(INTERACTIONS, source="PUT")["ITEM_ID"].to_pylist() == ["z"]
    assert store.count(INTERACTIONS) == 7
    # segment_rows=3 split the import into two segments; the dropped ones are gone.
    assert len(store.manifest(INTERACTIONS).segments) == 3
    segment_files = [o for o in store.root.list_prefix("datasets/") if "/segments/" in o.key]
    assert len(segment_files) == 3


def test_failed_full_import_leaves_old_data_intact(store: RecordStore) -> None:
    store.replace_bulk(INTERACTIONS, [interactions(["u1", "u2"], ["a", "b"])])
    before = store.manifest(INTERACTIONS)
    objects_before = {o.key for o in store.root.list_prefix("datasets/")}

    def failing() -> Iterator[pa.Table]:
        yield interactions(["x"] * 5, list("vwxyz"))  # written as a segment (5 > segment_rows)
        raise ValueError("row 1234: bad TIMESTAMP")

    with pytest.raises(ValueError, match="bad TIMESTAMP"):
        store.replace_bulk(INTERACTIONS, failing())
    assert store.manifest(INTERACTIONS) == before
    assert store.read(INTERACTIONS)["USER_ID"].to_pylist() == ["u1", "u2"]
    # The partial segment was cleaned up.
    assert {o.key for o in store.root.list_prefix("datasets/")} == objects_before


def test_incremental_upsert_newest_wins(store: RecordStore) -> None:
    store.replace_bulk(
        ITEMS,
        [pa.table({"ITEM_ID": ["a", "b", "c"], "PRICE": [1.0, 2.0, 3.0]})],
        upsert_key="ITEM_ID",
    )
    store.append(ITEMS, pa.table({"ITEM_ID": ["b", "d"], "PRICE": [20.0, 4.0]}), "ITEM_ID")
    # A later schema adds a column; older segments read it as null.
    store.append(
        ITEMS,
        pa.table({"ITEM_ID": ["a", "a"], "PRICE": [10.0, 11.0], "GENRE": ["x", "y"]}),
        "ITEM_ID",
        source="PUT",
    )
    everything = store.read(ITEMS)
    assert sorted(
        zip(everything["ITEM_ID"].to_pylist(), everything["PRICE"].to_pylist(), strict=True)
    ) == [
        ("a", 11.0),
        ("b", 20.0),
        ("c", 3.0),
        ("d", 4.0),
    ]
    assert store.read(ITEMS, ["GENRE"])["GENRE"].to_pylist().count("y") == 1
    assert store.count(ITEMS) == 4
    assert store.count(ITEMS, source="BULK") == 5  # BULK alone keeps every same-id record
    assert store.read(ITEMS, ["ITEM_ID"], source="PUT")["ITEM_ID"].to_pylist() == ["a", "a"]


def test_interactions_append(store: RecordStore) -> None:
    store.replace_bulk(INTERACTIONS, [interactions(["u1"], ["a"])])
    store.append(INTERACTIONS, interactions(["u1"], ["a"], 5))
    assert store.count(INTERACTIONS) == 2
    assert store.read(INTERACTIONS, ["TIMESTAMP"])["TIMESTAMP"].to_pylist() == [0, 5]


def test_delete_users(store: RecordStore) -> None:
    store.replace_bulk(INTERACTIONS, [interactions(["u1", "u2", "u3", "u1"], list("abcd"))])
    store.append(INTERACTIONS, interactions(["u1"], ["e"]), source="PUT")
    store.append(INTERACTIONS, interactions(["u2"], ["f"]), source="PUT")
    assert store.delete_users(INTERACTIONS, ["u1", "nobody"]) == 3
    table = store.read(INTERACTIONS)
    assert sorted(table["USER_ID"].to_pylist()) == ["u2", "u2", "u3"]
    assert store.delete_users(INTERACTIONS, ["u1"]) == 0
    assert store.delete_users(ITEMS, ["u1"]) == 0


def test_checkpoint_commits_with_the_segment(store: RecordStore) -> None:
    store.append(
        INTERACTIONS,
        interactions(["u1"], ["a"]),
        source="PUT",
        checkpoint=LogCheckpoint("log", 0, 40),
    )
    assert store.checkpoint(INTERACTIONS, "log") == 40
    with pytest.raises(CheckpointMismatch):
        store.append(
            INTERACTIONS,
            interactions(["u1"], ["a"]),
            source="PUT",
            checkpoint=LogCheckpoint("log", 0, 40),
        )
    assert store.count(INTERACTIONS) == 1


def test_merge_segments_keeps_upsert_order(store: RecordStore) -> None:
    for price in [1.0, 2.0, 3.0]:
        store.append(ITEMS, pa.table({"ITEM_ID": ["a"], "PRICE": [price]}), "ITEM_ID", source="PUT")
    store.append(ITEMS, pa.table({"ITEM_ID": ["a"], "PRICE": [4.0]}), "ITEM_ID", source="BULK")
    assert store.merge_segments(ITEMS) == 2
    assert len(store.manifest(ITEMS).segments) == 2
    assert store.read(ITEMS)["PRICE"].to_pylist() == [4.0]
    assert store.read(ITEMS, source="PUT")["PRICE"].to_pylist() == [1.0, 2.0, 3.0]


def test_empty_and_drop(store: RecordStore) -> None:
    assert store.read(ITEMS, ["ITEM_ID"]).num_rows == 0
    assert store.count(ITEMS) == 0
    store.append(ITEMS, pa.table({"ITEM_ID": ["a"]}), "ITEM_ID")
    assert store.datasets() == [ITEMS]
    store.drop(ITEMS)
    assert store.count(ITEMS) == 0
    assert store.datasets() == []


def test_concurrent_writers_lose_no_commit(store: RecordStore, backend: Backend) -> None:
    # A second store object stands for another process sharing the same root.
    other = RecordStore(backend[0], backend[1])
    base = store.manifest(INTERACTIONS)
    other.append(INTERACTIONS, interactions(["o"], ["x"]))
    # ``store`` now commits on top of a manifest it has not seen: it must retry, not overwrite.
    assert store.manifest(INTERACTIONS).generation == base.generation + 1
    store.append(INTERACTIONS, interactions(["s"], ["y"]))
    assert sorted(store.read(INTERACTIONS)["USER_ID"].to_pylist()) == ["o", "s"]
