from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import pytest

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import FloatArray, History, IntArray, JsonDict, Model, TrainingData
from openpersonalize.engine.evaluate import evaluate, rank_held_out, top_k
from openpersonalize.engine.metrics import METRIC_KEYS
from openpersonalize.engine.split import personalize_split
from tests.unit.engine._data import make_data


def test_top_k_orders_and_skips_minus_inf() -> None:
    scores = np.array([[0.1, 0.9, -np.inf, 0.5], [np.nan, -np.inf, -np.inf, 1.0]], np.float32)
    assert top_k(scores, 3).tolist() == [[1, 3, 0], [3, -1, -1]]
    assert top_k(scores, 6).shape == (2, 6)


class _NextItem(Model):
    """RELATED_ITEMS oracle: the neighbour of item i is item i + 1."""

    recipe_name: ClassVar[str] = "test-next-item"
    recipe_type: ClassVar[str] = "RELATED_ITEMS"

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> _NextItem:
        return cls(data.items, data.users)

    def score_related(self, item_idx: IntArray) -> FloatArray:
        n = len(self.items)
        scores = np.zeros((len(item_idx), n), dtype=np.float32)
        scores[np.arange(len(item_idx)), (item_idx + 1) % n] = 1.0
        return scores

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        raise AssertionError("related-items models are queried by item")

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        return {}, {}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> _NextItem:
        return cls(items, users)


def test_related_items_are_queried_with_the_newest_input_item() -> None:
    # Every user walks i0 → i1 → ... → i9 in order, so the newest input item's successor is the
    # first relevant item: MRR is 1 for every test user.
    users = [f"u{u}" for u in range(20) for _ in range(10)]
    items = [f"i{i}" for _ in range(20) for i in range(10)]
    ts = [float(u * 100 + i) for u in range(20) for i in range(10)]
    data = make_data(users, items, ts)
    metrics = evaluate(_NextItem, data, {}, seed=0)
    assert tuple(metrics) == METRIC_KEYS
    assert metrics["mean_reciprocal_rank_at_25"] == pytest.approx(1.0)
    split = personalize_split(data, 0)
    ranked = rank_held_out(_NextItem.train(split.train, {}, np.random.default_rng(0)), split.test)
    assert ranked.shape == (len(split.test), 25)
