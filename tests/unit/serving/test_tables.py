"""Attribute tables and the bulk history snapshot."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from openpersonalize.data.schemas import parse_schema
from openpersonalize.data.vocab import Vocabulary
from openpersonalize.filtering import CategoricalColumn, NumericColumn
from openpersonalize.serving.tables import (
    HISTORY_PER_EVENT_TYPE,
    HISTORY_PER_USER,
    AttributeTable,
    HistoryTable,
    take_rows,
)
from tests.unit.serving.world import ITEMS, items_table


def test_take_rows_reorders_and_fills_missing() -> None:
    col = CategoricalColumn.from_rows(["a|b", None, "c"])
    out = take_rows(col, np.array([2, -1, 0, 0]))
    assert isinstance(out, CategoricalColumn)
    assert [out.row(r) for r in range(4)] == [("c",), (), ("a", "b"), ("a", "b")]
    num = take_rows(NumericColumn.from_rows([1.0, 2.0]), np.array([1, -1]))
    assert isinstance(num, NumericColumn)
    assert num.values[0] == 2.0 and np.isnan(num.values[1])


def test_attribute_table_aligns_to_a_model_vocabulary() -> None:
    table = AttributeTable.build(items_table(), parse_schema(json.dumps(ITEMS)), "ITEM_ID")
    aligned = table.aligned(Vocabulary(["i3", "nope", "i10"]))
    genre = aligned.columns["GENRE"]
    assert isinstance(genre, CategoricalColumn)
    assert [genre.row(r) for r in range(3)] == [("action",), (), ("horror", "drama")]
    assert table.metadata(table.ids.index("i10"), ["genre", "YEAR"]) == {
        "genre": "horror|drama",
        "YEAR": "2000",
    }


def test_history_keeps_the_newest_rows_per_user_oldest_first() -> None:
    n = HISTORY_PER_USER + 5
    table = pa.table(
        {
            "USER_ID": ["a"] * n + ["b"],
            "ITEM_ID": [f"x{i}" for i in range(n)] + ["x0"],
            "TIMESTAMP": [*range(n, 0, -1), 7],
            "EVENT_TYPE": ["click"] * (n + 1),
        }
    )
    history = HistoryTable.build(table)
    rows = history.rows("a")
    assert rows.stop - rows.start == HISTORY_PER_USER
    assert np.all(np.diff(history.timestamp[rows]) > 0)
    assert history.timestamp[rows][-1] == n
    assert history.rows("nobody") == slice(0, 0)
    vocab = Vocabulary(["x0", "x1", "zzz"])
    assert history.counts_for(vocab).tolist() == [2.0, 1.0, 0.0]
    assert history.latest_timestamp == n


def test_history_keeps_the_newest_rows_of_every_event_type() -> None:
    # "a" watched 150 titles long ago, then clicked 250 times: the newest 200 rows are clicks,
    # yet exclusions and Interactions filters look at the newest 100 watches.
    watches, clicks = 150, 250
    n = watches + clicks
    table = pa.table(
        {
            "USER_ID": ["a"] * n,
            "ITEM_ID": [f"w{i}" for i in range(watches)] + [f"c{i}" for i in range(clicks)],
            "TIMESTAMP": list(range(n)),
            "EVENT_TYPE": ["watch"] * watches + ["click"] * clicks,
        }
    )
    history = HistoryTable.build(table.take(np.random.default_rng(0).permutation(n)))
    rows = history.rows("a")
    kept = [history.item_ids.id(c) for c in history.item_code[rows].tolist()]
    newest_watches = [f"w{i}" for i in range(watches - HISTORY_PER_EVENT_TYPE, watches)]
    newest_rows = [f"c{i}" for i in range(clicks - HISTORY_PER_USER, clicks)]
    assert kept == newest_watches + newest_rows
    assert np.all(np.diff(history.timestamp[rows]) > 0)
    types = {history.event_types[t] for t in history.type_code[rows].tolist()}
    assert types == {"watch", "click"}
