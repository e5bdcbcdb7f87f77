"""The metric attribution store: summing upserts, reads by window, recommendation ids."""

from __future__ import annotations

from pathlib import Path

from openpersonalize.data.attribution import Aggregate
from openpersonalize.store.attribution import AttributionStore


def test_add_sums_and_survives_reopen(tmp_path: Path) -> None:
    store = AttributionStore(tmp_path / "a.sqlite3")
    store.add("arn:ma", [Aggregate("M", "click", "s", 0, "samplecount", 2.0)])
    store.add(
        "arn:ma",
        [
            Aggregate("M", "click", "s", 0, "samplecount", 3.0),
            Aggregate("M", "click", "s", 900, "samplecount", 1.0),
        ],
    )
    store.add("arn:other", [Aggregate("X", "buy", "s", 0, "sum", 9.5)])
    store.close()

    reopened = AttributionStore(tmp_path / "a.sqlite3")
    got = reopened.aggregates(["arn:ma"])
    assert [(a.window_start, a.value) for a in got["arn:ma"]] == [(0, 5.0), (900, 1.0)]
    assert [a.window_start for a in reopened.aggregates(["arn:ma"], since=900)["arn:ma"]] == [900]
    reopened.drop("arn:ma")
    assert reopened.aggregates(["arn:ma", "arn:other"]) == {
        "arn:ma": [],
        "arn:other": [Aggregate("X", "buy", "s", 0, "sum", 9.5)],
    }
    reopened.close()


def test_recommendation_ids(tmp_path: Path) -> None:
    store = AttributionStore(tmp_path / "a.sqlite3")
    store.remember([("RID-1", "arn:campaign/a", 100.0), ("RID-2", "arn:recommender/b", 200.0)])
    assert store.resolve(["RID-1", "RID-2", "RID-3", "RID-1"]) == {
        "RID-1": "arn:campaign/a",
        "RID-2": "arn:recommender/b",
    }
    assert store.resolve(f"RID-{i}" for i in range(2000)) == {
        "RID-1": "arn:campaign/a",
        "RID-2": "arn:recommender/b",
    }
    assert store.forget_before(150.0) == 1
    assert store.resolve(["RID-1", "RID-2"]) == {"RID-2": "arn:recommender/b"}
    store.close()
