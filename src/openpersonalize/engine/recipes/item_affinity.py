"""aws-item-affinity (USER_SEGMENTATION): the users most likely to interact with given items.

A low-rank factor model of the user × item matrix (PureSVD): the matrix of ``log1p`` interaction
weights is factorised by a truncated SVD of rank ``hidden_dimension``; user ``u``'s affinity for
item ``i`` is ``P[u] · Q[i]`` with ``P = U Σ`` and ``Q = V``. A segment for a set of items scores
users against the mean of the items' vectors. Deterministic given the generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import FloatArray, IntArray, JsonDict, Model, TrainingData
from openpersonalize.engine.hyperparameters import get_int
from openpersonalize.engine.recipes._common import (
    affinity_factors,
    as_index_array,
    confidence_matrix,
)


class ItemAffinity(Model):
    recipe_name: ClassVar[str] = "aws-item-affinity"
    recipe_type: ClassVar[str] = "USER_SEGMENTATION"

    def __init__(
        self,
        items: Vocabulary,
        users: Vocabulary,
        user_factors: FloatArray,
        item_factors: FloatArray,
    ) -> None:
        """``user_factors`` (n_users, r) and ``item_factors`` (n_items, r), float32."""
        super().__init__(items, users)
        self.user_factors = user_factors
        self.item_factors = item_factors

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> ItemAffinity:
        rank = get_int(hyperparameters, cls.recipe_name, "hidden_dimension")
        users, items = affinity_factors(confidence_matrix(data), rank, rng)
        return cls(data.items, data.users, users, items)

    def _score(self, vectors: FloatArray) -> FloatArray:
        scores: FloatArray = (vectors @ self.user_factors.T).astype(np.float32)
        return scores

    def score_users_for_items(self, item_idx: IntArray) -> FloatArray:
        """Affinity of every user for each item: shape (len(item_idx), n_users), float32.

        Unknown items (index -1 or out of range) score 0 for everyone.
        """
        queries = as_index_array(item_idx)
        known = (queries >= 0) & (queries < self.item_factors.shape[0])
        vectors = np.zeros((queries.shape[0], self.item_factors.shape[1]), dtype=np.float32)
        vectors[known] = self.item_factors[queries[known]]
        return self._score(vectors)

    def score_users_for_item_sets(self, item_mask: npt.NDArray[np.bool_]) -> FloatArray:
        """Affinity for sets of items (mean item vector): mask (b, n_items) bool → (b, n_users)."""
        mask = np.asarray(item_mask, dtype=np.float32).reshape(-1, self.item_factors.shape[0])
        sizes = mask.sum(axis=1, keepdims=True)
        vectors = (mask @ self.item_factors) / np.where(sizes > 0, sizes, 1.0)
        return self._score(vectors.astype(np.float32))

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}, {}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> ItemAffinity:
        return cls(
            items,
            users,
            np.asarray(arrays["user_factors"], dtype=np.float32),
            np.asarray(arrays["item_factors"], dtype=np.float32),
        )
