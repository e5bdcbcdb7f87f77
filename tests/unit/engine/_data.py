"""Tiny interaction data sets for engine tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import TrainingData


def make_data(
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    timestamps: Sequence[float] | None = None,
    event_types: Sequence[str] | None = None,
    extra_items: Sequence[str] = (),
) -> TrainingData:
    """TrainingData from parallel id lists (sorted by timestamp, stable)."""
    n = len(user_ids)
    ts = np.asarray(timestamps if timestamps is not None else np.arange(n), dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    users = Vocabulary(user_ids[i] for i in order)
    items = Vocabulary(item_ids[i] for i in order)
    for item in extra_items:
        items.add(item)
    names: list[str] = []
    etype = np.full(n, -1, dtype=np.int64)
    if event_types is not None:
        names = sorted(set(event_types))
        etype = np.array([names.index(event_types[i]) for i in order], dtype=np.int64)
    return TrainingData(
        users=users,
        items=items,
        user_idx=users.indices(user_ids[i] for i in order),
        item_idx=items.indices(item_ids[i] for i in order),
        timestamp=ts[order],
        event_type=etype,
        event_types=names,
        event_value=np.full(n, np.nan, dtype=np.float32),
        weight=np.ones(n, dtype=np.float32),
    )


def random_data(
    rng: np.random.Generator, n_users: int = 60, n_items: int = 40, n_events: int = 900
) -> TrainingData:
    """Clustered random interactions: users prefer items of their own cluster."""
    n_clusters = 4
    user = rng.integers(0, n_users, n_events)
    same = rng.random(n_events) < 0.8
    cluster = np.where(same, user % n_clusters, rng.integers(0, n_clusters, n_events))
    item = cluster + n_clusters * rng.integers(0, n_items // n_clusters, n_events)
    ts = np.sort(rng.random(n_events) * 1e6)
    return make_data([f"u{u}" for u in user], [f"i{i}" for i in item], ts.tolist())
