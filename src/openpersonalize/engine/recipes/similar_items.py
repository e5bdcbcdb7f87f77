"""aws-similar-items: co-occurrence blended with item-metadata similarity.

Two item embeddings, both unit-normalised so dot products are cosines:

- ``cf``: from interactions, the rank-``item_id_hidden_dim`` SVD of the binary user × item matrix
  with columns scaled by ``n_j ** -1/2`` (so ``cf @ cf.T`` approximates the cosine co-occurrence
  ``C[i, j] / sqrt(n_i n_j)``);
- ``meta``: from metadata (categorical TF-IDF, numeric buckets, textual TF-IDF, see
  :mod:`openpersonalize.engine.item_features`), reduced to ``item_metadata_hidden_dim`` by SVD when
  there are more features than that (latent semantic analysis).

The similarity of query ``q`` and candidate ``j`` is ``meta + a_q a_j (cf - meta)`` with
``a = n / (n + 5)``: items with many interactions are related by behaviour, cold items (no or few
interactions) by metadata, so they get neighbours and can be neighbours. Items without metadata use
behaviour alone. Positive similarities are multiplied by a popularity factor
``((1 + log1p n_j) / (1 + log1p n_max)) ** ((1 - popularity_discount_factor) / 2)``: at 0 (the
default) popular items are favoured, at 1 popularity is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import (
    FloatArray,
    History,
    IntArray,
    JsonDict,
    Model,
    TrainingData,
)
from openpersonalize.engine.hyperparameters import get_float, get_int
from openpersonalize.engine.item_features import item_feature_matrix
from openpersonalize.engine.recipes._common import (
    as_index_array,
    broadcast,
    item_popularity,
    l2_normalize_rows,
    popularity_scores,
    truncated_svd,
    user_item_matrix,
)

COLD_SHRINKAGE = 5.0  # interactions at which behaviour and metadata weigh the same


class SimilarItems(Model):
    recipe_name: ClassVar[str] = "aws-similar-items"
    recipe_type: ClassVar[str] = "RELATED_ITEMS"

    def __init__(
        self,
        items: Vocabulary,
        users: Vocabulary,
        *,
        cf_factors: FloatArray,
        meta_factors: FloatArray,
        behaviour_weight: FloatArray,
        popularity_factor: FloatArray,
        popularity: FloatArray,
    ) -> None:
        """``cf_factors`` (n_items, r1) and ``meta_factors`` (n_items, r2) float32 with unit or
        zero rows; ``behaviour_weight``, ``popularity_factor``, ``popularity``: (n_items,)."""
        super().__init__(items, users)
        self.cf_factors = cf_factors
        self.meta_factors = meta_factors
        self.behaviour_weight = behaviour_weight
        self.popularity_factor = popularity_factor
        self.popularity = popularity
        self._fallback = popularity_scores(popularity)

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> SimilarItems:
        name = cls.recipe_name
        matrix = user_item_matrix(data, binary=True)
        users_per_item = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
        scale = np.where(users_per_item > 0, 1.0 / np.sqrt(np.maximum(users_per_item, 1)), 0.0)
        scaled = sp.csr_matrix(matrix @ sp.diags(scale.astype(np.float32)))
        _, s, vt = truncated_svd(scaled, get_int(hyperparameters, name, "item_id_hidden_dim"), rng)
        cf = l2_normalize_rows((vt.T * s[None, :]).astype(np.float32))

        features, _ = item_feature_matrix(data)
        meta_rank = get_int(hyperparameters, name, "item_metadata_hidden_dim")
        if features.shape[1] > meta_rank:
            u, s_meta, _ = truncated_svd(features, meta_rank, rng)
            meta = l2_normalize_rows(u * s_meta[None, :])
        else:
            meta = features.toarray().astype(np.float32)
        has_meta = np.linalg.norm(meta, axis=1) > 0
        weight = np.where(has_meta, users_per_item / (users_per_item + COLD_SHRINKAGE), 1.0).astype(
            np.float32
        )

        popularity = item_popularity(data)
        discount = get_float(hyperparameters, name, "popularity_discount_factor")
        log_pop = 1.0 + np.log1p(users_per_item)
        exponent = 0.5 * (1.0 - discount)
        factor = np.power(log_pop / log_pop.max(), exponent) if log_pop.size else log_pop
        return cls(
            data.items,
            data.users,
            cf_factors=cf,
            meta_factors=meta,
            behaviour_weight=weight,
            popularity_factor=factor.astype(np.float32),
            popularity=popularity,
        )

    def similarity(self, item_idx: IntArray) -> FloatArray:
        """Blended similarity of each known query item to every item: (b, n_items) float32."""
        q = as_index_array(item_idx)
        cf = self.cf_factors[q] @ self.cf_factors.T
        meta = self.meta_factors[q] @ self.meta_factors.T
        blend = self.behaviour_weight[q][:, None] * self.behaviour_weight[None, :]
        return (meta + blend * (cf - meta)).astype(np.float32)

    def score_related(self, item_idx: IntArray) -> FloatArray:
        """Related items score in (1, 2]; the rest [0, 1) by popularity; the query item -inf.
        Shape (len(item_idx), n_items), float32."""
        queries = as_index_array(item_idx)
        out = broadcast(self._fallback, queries.shape[0])
        known = (queries >= 0) & (queries < out.shape[1])
        if known.any():
            rows = np.flatnonzero(known)
            sim = np.clip(self.similarity(queries[rows]), 0.0, None) * self.popularity_factor
            sim[np.arange(rows.size), queries[rows]] = 0.0
            top = sim.max(axis=1, keepdims=True)
            positive = (sim > 1e-6) & (top > 0)
            related = 1.0 + sim / np.where(top > 0, top, 1.0)
            out[rows] = np.where(positive, related, out[rows])
            out[rows, queries[rows]] = -np.inf
        return out

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        """Items similar to the user's newest interactions; popular items for empty histories."""
        out = broadcast(self._fallback, len(histories))
        for row, history in enumerate(histories):
            recent = history.item_idx[::-1][:20]
            if recent.size == 0:
                continue
            related = self.score_related(recent)
            votes = np.where(related > 1.0, related - 1.0, 0.0)
            weights = 1.0 / (1.0 + np.arange(recent.size, dtype=np.float32))
            total = (votes * weights[:, None]).sum(axis=0)
            if total.max() > 0:
                hit = total > 0
                out[row, hit] = 1.0 + total[hit] / total.max()
        return out

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        arrays = {
            "item_cf_factors": self.cf_factors,
            "item_meta_factors": self.meta_factors,
            "behaviour_weight": self.behaviour_weight,
            "popularity_factor": self.popularity_factor,
            "popularity": self.popularity,
        }
        return arrays, {}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> SimilarItems:
        return cls(
            items,
            users,
            cf_factors=np.asarray(arrays["item_cf_factors"], dtype=np.float32),
            meta_factors=np.asarray(arrays["item_meta_factors"], dtype=np.float32),
            behaviour_weight=np.asarray(arrays["behaviour_weight"], dtype=np.float32),
            popularity_factor=np.asarray(arrays["popularity_factor"], dtype=np.float32),
            popularity=np.asarray(arrays["popularity"], dtype=np.float32),
        )
