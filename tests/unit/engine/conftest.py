"""A tiny data set whose right answers are obvious, shared by the engine tests.

Three clusters of four items (A, B, C) plus one cold item per cluster (metadata only). Each
user belongs to one cluster and interacts with that cluster's item 0 and two more of its items;
cluster A has the most users, so ``A0`` is the most popular item. All interactions fall within
one hour, so the default trend interval (2 hours) sees them all in its latest interval.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from openpersonalize.engine.base import TrainingData
from openpersonalize.engine.training_data import build_training_data
from tests.schemas import record

CLUSTERS = {"A": 12, "B": 10, "C": 10}  # cluster -> number of users
WORDS = {
    "A": "running shoes sneakers trail",
    "B": "chocolate cake dessert baking",
    "C": "laptop computer keyboard screen",
}
NAMES = {"A": "Running shoe", "B": "Chocolate cake", "C": "Laptop computer"}


def tiny_tables() -> tuple[pa.Table, pa.Table, dict[str, object]]:
    users, items, times = [], [], []
    t = 1_700_000_000
    for cluster, n_users in CLUSTERS.items():
        for u in range(n_users):
            picks = [0, 1 + u % 3, 1 + (u + 1) % 3]
            for p in picks:
                users.append(f"{cluster}-user{u}")
                items.append(f"{cluster}{p}")
                times.append(t)
                t += 30
    interactions = pa.table(
        {
            "USER_ID": users,
            "ITEM_ID": items,
            "TIMESTAMP": pa.array(times, pa.int64()),
            "EVENT_TYPE": ["click"] * len(users),
        }
    )
    item_ids, genres, descriptions, names, prices = [], [], [], [], []
    for cluster in CLUSTERS:
        for p in [0, 1, 2, 3, "cold"]:
            item_ids.append(f"{cluster}{p}")
            genres.append(f"genre{cluster}")
            descriptions.append(f"{WORDS[cluster]} item {p}")
            names.append(f"{NAMES[cluster]} {p}")
            prices.append({"A": 10.0, "B": 50.0, "C": 900.0}[cluster])
    items_table = pa.table(
        {
            "ITEM_ID": item_ids,
            "GENRE": genres,
            "DESCRIPTION": descriptions,
            "NAME": names,
            "PRICE": prices,
        }
    )
    schema = record(
        "Items",
        [
            ("ITEM_ID", "string"),
            ("GENRE", "string"),
            ("DESCRIPTION", ["null", "string"]),
            ("NAME", "string"),
            ("PRICE", "float"),
        ],
        GENRE={"categorical": True},
        DESCRIPTION={"textual": True},
        NAME={"itemName": True},
    )
    return interactions, items_table, schema


def tiny_action_tables() -> tuple[pa.Table, pa.Table]:
    """One action per cluster (``act-A`` …): the cluster's users take it (5 times each), the
    others do not (3 NOT_TAKEN / VIEWED each), so every action has ≥ 50 of both."""
    users, actions, types, times = [], [], [], []
    t = 1_700_010_000
    for cluster, n_users in CLUSTERS.items():
        for u in range(n_users):
            for target in CLUSTERS:
                mine = target == cluster
                for k in range(5 if mine else 3):
                    users.append(f"{cluster}-user{u}")
                    actions.append(f"act-{target}")
                    types.append("Taken" if mine else ("Not Taken" if k % 2 else "VIEWED"))
                    times.append(t)
                    t += 10
    action_interactions = pa.table(
        {
            "USER_ID": users,
            "ACTION_ID": actions,
            "EVENT_TYPE": types,
            "TIMESTAMP": pa.array(times, pa.int64()),
        }
    )
    actions_table = pa.table(
        {
            "ACTION_ID": [f"act-{c}" for c in CLUSTERS],
            "VALUE": pa.array([1, 2, 3], pa.int64()),
        }
    )
    return actions_table, action_interactions


def make_tiny_data() -> TrainingData:
    from openpersonalize.engine.action_data import build_action_data

    interactions, items, schema = tiny_tables()
    data = build_training_data(interactions, items, items_schema=schema, minimums=None)
    data.actions = build_action_data(*tiny_action_tables())
    return data


@pytest.fixture(scope="session")
def tiny_data() -> TrainingData:
    return make_tiny_data()


def cluster_of(item_id: str) -> str:
    return item_id[0]


def ranked_ids(data: TrainingData, scores: np.ndarray, k: int) -> list[str]:
    order = np.argsort(-scores, kind="stable")[:k]
    return data.items.ids(order)
