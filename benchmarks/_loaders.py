"""Load the reference data sets in ``../shared/data`` into :class:`TrainingData` (never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import TrainingData

SHARED_DATA = Path(
    os.environ.get(
        "OPENPERSONALIZE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


def _strings(table: pa.Table, column: str) -> list[str]:
    return [str(x) for x in table.column(column).cast(pa.string()).to_pylist()]


def _float(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return float("nan")


def _build(
    user_ids: list[str],
    item_ids: list[str],
    timestamps: np.ndarray,
    event_types: list[str],
    items_table: pa.Table | None,
    categorical: list[str],
    numeric: list[str],
    textual: list[str],
    name_column: str | None = None,
) -> TrainingData:
    order = np.argsort(timestamps, kind="stable")
    users = Vocabulary(user_ids[i] for i in order)
    items = Vocabulary(item_ids[i] for i in order)
    meta_ids: list[str] = []
    if items_table is not None:
        meta_ids = _strings(items_table, "ITEM_ID")
        for item in meta_ids:
            items.add(item)
    names = sorted(set(event_types))
    type_of = {name: k for k, name in enumerate(names)}
    n = len(user_ids)
    columns: dict[str, np.ndarray] = {}
    if items_table is not None:
        rows = items.indices(meta_ids)
        for col in categorical:
            arr = np.empty(len(items), dtype=object)
            arr[:] = [[] for _ in range(len(items))]
            for r, value in zip(rows, items_table.column(col).to_pylist(), strict=True):
                arr[r] = [] if value is None else str(value).split("|")
            columns[col] = arr
        for col in numeric:
            num = np.full(len(items), np.nan)
            num[rows] = [_float(v) for v in items_table.column(col).to_pylist()]
            columns[col] = num
        for col in [*textual, *([name_column] if name_column else [])]:
            txt = np.full(len(items), "", dtype=object)
            txt[rows] = [str(v or "") for v in items_table.column(col).to_pylist()]
            columns[col] = txt
    return TrainingData(
        users=users,
        items=items,
        user_idx=users.indices(user_ids[i] for i in order),
        item_idx=items.indices(item_ids[i] for i in order),
        timestamp=np.asarray(timestamps, dtype=np.float64)[order],
        event_type=np.fromiter((type_of[event_types[i]] for i in order), np.int64, count=n),
        event_types=names,
        event_value=np.full(n, np.nan, dtype=np.float32),
        weight=np.ones(n, dtype=np.float32),
        item_columns=columns,
        item_categorical=categorical,
        item_textual=textual,
        item_name_column=name_column,
    )


def load_personalize_poc(root: Path = SHARED_DATA) -> TrainingData:
    """MovieLens in Personalize layout: ~158k click/watch events, 610 users, 9.7k items."""
    t = pacsv.read_csv(root / "personalize-poc" / "interactions.csv")
    meta = pacsv.read_csv(root / "personalize-poc" / "item-meta.csv")
    return _build(
        _strings(t, "USER_ID"),
        _strings(t, "ITEM_ID"),
        t.column("TIMESTAMP").to_numpy().astype(np.float64),
        _strings(t, "EVENT_TYPE"),
        meta,
        ["GENRE"],
        ["YEAR"],
        [],
    )


def load_retail(root: Path = SHARED_DATA) -> TrainingData:
    """The synthetic retail shop: ~675k events, 6k users, 2.5k items."""
    t = pacsv.read_csv(root / "retail" / "interactions.csv.gz")
    meta = pacsv.read_csv(root / "retail" / "items.csv")
    return _build(
        _strings(t, "USER_ID"),
        _strings(t, "ITEM_ID"),
        t.column("TIMESTAMP").to_numpy().astype(np.float64),
        _strings(t, "EVENT_TYPE"),
        meta,
        ["CATEGORY_L1", "CATEGORY_L2", "GENDER", "PROMOTED"],
        ["PRICE"],
        ["PRODUCT_DESCRIPTION"],
        "PRODUCT_NAME",
    )


def load_synthetic(seed: int = 0) -> TrainingData | None:
    """The project's own generator (``custom`` preset): 5k users, 3k items, 150k events."""
    try:
        from openpersonalize.datasets import small
    except ImportError:
        return None
    tables = small("custom", seed, n_users=5_000, n_items=3_000, n_interactions=150_000)
    t, meta = tables.interactions, tables.items
    data = _build(
        _strings(t, "USER_ID"),
        _strings(t, "ITEM_ID"),
        t.column("TIMESTAMP").to_numpy().astype(np.float64),
        _strings(t, "EVENT_TYPE"),
        meta,
        ["GENRES"],
        ["PRICE"],
        ["DESCRIPTION"],
        "TITLE",
    )
    created = np.full(data.n_items, np.nan)
    created[data.items.indices(_strings(meta, "ITEM_ID"))] = meta.column(
        "CREATION_TIMESTAMP"
    ).to_numpy()
    data.item_creation_timestamp = created
    return data
