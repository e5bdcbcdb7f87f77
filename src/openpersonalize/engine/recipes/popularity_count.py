"""aws-popularity-count: the most interacted-with items, the same list for every user.

The baseline Personalize suggests comparing every other recipe against. Popularity is the sum of
interaction weights per item (1.0 per event unless ``eventsConfig`` weights apply); ties are broken
by the most recent interaction, so of two equally popular items the one still in use ranks first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import (
    FloatArray,
    History,
    IntArray,
    JsonDict,
    Model,
    TrainingData,
)
from openpersonalize.engine.recipes._common import (
    as_index_array,
    broadcast,
    item_popularity,
)


class PopularityCount(Model):
    """Scores are ranks (n_items for the most popular down to 1), float32, shape (n_items,)."""

    recipe_name: ClassVar[str] = "aws-popularity-count"
    recipe_type: ClassVar[str] = "POPULAR_ITEMS"

    def __init__(
        self, items: Vocabulary, users: Vocabulary, popularity: FloatArray, last_seen: np.ndarray
    ) -> None:
        super().__init__(items, users)
        self.popularity = popularity  # (n_items,) float32
        self.last_seen = last_seen  # (n_items,) float64 epoch seconds, -inf when never seen
        self._scores = _scores(popularity, last_seen)

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> PopularityCount:
        popularity = item_popularity(data)
        last_seen = np.full(data.n_items, -np.inf, dtype=np.float64)
        np.maximum.at(last_seen, data.item_idx, data.timestamp)
        return cls(data.items, data.users, popularity, last_seen)

    def scores(self) -> FloatArray:
        """The popularity ranking itself: shape (n_items,), float32, higher first."""
        return self._scores

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        return broadcast(self._scores, len(histories))

    def score_related(self, item_idx: IntArray) -> FloatArray:
        return broadcast(self._scores, as_index_array(item_idx).shape[0])

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        return {"popularity": self.popularity, "last_seen": self.last_seen}, {}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> PopularityCount:
        return cls(
            items,
            users,
            np.asarray(arrays["popularity"], dtype=np.float32),
            np.asarray(arrays["last_seen"], dtype=np.float64),
        )


def _scores(popularity: FloatArray, last_seen: np.ndarray) -> FloatArray:
    """Rank-based scores: by popularity, then by most recent use; shape (n_items,), float32."""
    n = popularity.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    order = np.lexsort((np.arange(n), -last_seen, -popularity.astype(np.float64)))
    scores = np.empty(n, dtype=np.float32)
    scores[order] = np.arange(n, 0, -1, dtype=np.float32)
    return scores
