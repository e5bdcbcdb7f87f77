"""aws-sims: item-to-item collaborative filtering from co-occurrence in user histories.

For a query item ``i`` the score of a candidate ``j`` is ``C[i, j] / n_j ** α`` where ``C[i, j]``
is the number of users who interacted with both, ``n_j`` the number of users who interacted with
``j`` and ``α`` the ``popularity_discount_factor`` (0: raw co-occurrence, which favours popular
items; 0.5: cosine order; 1: the share of ``j``'s users who also had ``i``, popularity ignored).
Pairs seen together by fewer than ``min_cointeraction_count`` users are dropped.

Featurization (Personalize's percentile parameters): users whose history length lies outside the
``[min, max]_user_history_length_percentile`` quantiles of history lengths are left out (very short
and bot-like histories); items in the tail holding the lowest ``min_item_interaction_count_
percentile`` share of interactions, and items in the head above the ``max_item_...`` share, are
not used as neighbours (they can still be queried).

The model stores the top :data:`MAX_NEIGHBOURS` neighbours per item as CSR arrays. Items the
model does not know, or without neighbours, get the popular items, as Personalize does; lists
shorter than the request are padded with popular items.
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
from openpersonalize.engine.recipes._common import (
    as_index_array,
    broadcast,
    csr_from_topk,
    item_popularity,
    popularity_scores,
    top_k_rows,
    user_item_matrix,
)

MAX_NEIGHBOURS = 100
_BLOCK_CELLS = 1 << 24  # dense (block × n_items) float32 scratch of at most 64 MiB


class NeighbourModel(Model):
    """Shared scoring of recipes that store per-item neighbour lists (CSR) plus popularity.

    ``indptr`` (n_items + 1,) int64, ``indices`` (nnz,) int64, ``scores`` (nnz,) float32 sorted
    best first within each row; ``popularity`` (n_items,) float32.
    """

    def __init__(
        self,
        items: Vocabulary,
        users: Vocabulary,
        indptr: IntArray,
        indices: IntArray,
        scores: FloatArray,
        popularity: FloatArray,
    ) -> None:
        super().__init__(items, users)
        self.indptr = indptr
        self.indices = indices
        self.scores = scores
        self.popularity = popularity
        self._fallback = popularity_scores(popularity)

    def neighbours(self, item_idx: int) -> tuple[IntArray, FloatArray]:
        """Neighbour indices and raw similarities of one item, best first."""
        if not 0 <= item_idx < self.indptr.shape[0] - 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        lo, hi = int(self.indptr[item_idx]), int(self.indptr[item_idx + 1])
        return self.indices[lo:hi], self.scores[lo:hi]

    def score_related(self, item_idx: IntArray) -> FloatArray:
        """Neighbours score in (1, 2] by similarity; other items [0, 1) by popularity; the query
        item itself -inf. Shape (len(item_idx), n_items), float32."""
        queries = as_index_array(item_idx)
        out = broadcast(self._fallback, queries.shape[0])
        for row, query in enumerate(queries):
            idx, sim = self.neighbours(int(query))
            if idx.size:
                top = float(sim.max())
                out[row, idx] = 1.0 + sim / top if top > 0 else 1.0
            if 0 <= query < out.shape[1]:
                out[row, query] = -np.inf
        return out

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        """Items related to the user's newest interactions (recency-weighted neighbour votes);
        popular items for empty histories. Shape (len(histories), n_items), float32."""
        out = broadcast(self._fallback, len(histories))
        for row, history in enumerate(histories):
            recent = history.item_idx[::-1][:20]
            votes = np.zeros(out.shape[1], dtype=np.float32)
            for rank, item in enumerate(recent):
                idx, sim = self.neighbours(int(item))
                if idx.size and sim.max() > 0:
                    votes[idx] += (sim / sim.max()) / (1.0 + rank)
            if votes.max() > 0:
                hit = votes > 0
                out[row, hit] = 1.0 + votes[hit] / votes.max()
        return out

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        arrays: dict[str, np.ndarray] = {
            "neighbours_indptr": self.indptr,
            "neighbours_indices": self.indices,
            "neighbours_scores": self.scores,
            "popularity": self.popularity,
        }
        return arrays, {}

    @staticmethod
    def _unpack(
        arrays: Mapping[str, np.ndarray],
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        return (
            np.asarray(arrays["neighbours_indptr"], dtype=np.int64),
            np.asarray(arrays["neighbours_indices"], dtype=np.int64),
            np.asarray(arrays["neighbours_scores"], dtype=np.float32),
            np.asarray(arrays["popularity"], dtype=np.float32),
        )


class Sims(NeighbourModel):
    recipe_name: ClassVar[str] = "aws-sims"
    recipe_type: ClassVar[str] = "RELATED_ITEMS"

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> Sims:
        name = cls.recipe_name
        matrix = user_item_matrix(data, binary=True)
        matrix = filter_users_by_history_length(
            matrix,
            get_float(hyperparameters, name, "min_user_history_length_percentile"),
            get_float(hyperparameters, name, "max_user_history_length_percentile"),
        )
        candidates = items_within_interaction_share(
            np.asarray(matrix.sum(axis=0)).ravel(),
            get_float(hyperparameters, name, "min_item_interaction_count_percentile"),
            get_float(hyperparameters, name, "max_item_interaction_count_percentile"),
        )
        indptr, indices, scores = cooccurrence_neighbours(
            matrix,
            popularity_discount=get_float(hyperparameters, name, "popularity_discount_factor"),
            min_cointeraction=get_int(hyperparameters, name, "min_cointeraction_count"),
            candidates=candidates,
            k=MAX_NEIGHBOURS,
        )
        return cls(data.items, data.users, indptr, indices, scores, item_popularity(data))

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> Sims:
        return cls(items, users, *cls._unpack(arrays))


def filter_users_by_history_length(
    matrix: sp.csr_matrix, low_pct: float, high_pct: float
) -> sp.csr_matrix:
    """Zero the rows of users whose number of distinct items lies outside the quantiles.

    ``matrix``: users × items CSR; same shape returned. Quantiles are taken over users with at
    least one interaction, inclusive at both ends, so small data sets lose nobody at the defaults.
    """
    lengths = np.diff(matrix.indptr)
    active = lengths[lengths > 0]
    if active.size == 0:
        return matrix
    low = np.quantile(active, min(low_pct, high_pct), method="lower")
    high = np.quantile(active, max(low_pct, high_pct), method="higher")
    keep = (lengths >= low) & (lengths <= high)
    if keep.all():
        return matrix
    return sp.csr_matrix(sp.diags(keep.astype(np.float32)) @ matrix)


def items_within_interaction_share(
    counts: np.ndarray, low_share: float, high_share: float
) -> np.ndarray:
    """Items allowed as neighbours: shape (n_items,), bool.

    Items are ordered by interaction count; an item is excluded when every item with its count
    or less together holds at most ``low_share`` of all interactions (the long tail), or when the
    items with a smaller count already hold at least ``high_share`` (the head). Items with equal
    counts are treated alike, so a flat distribution excludes nothing.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    allowed = counts > 0
    if total <= 0:
        return allowed
    _values, inverse = np.unique(counts, return_inverse=True)
    mass = np.bincount(inverse, weights=counts)
    share_le = np.cumsum(mass) / total
    share_lt = share_le - mass / total
    tail = share_le[inverse] <= low_share
    head = share_lt[inverse] >= high_share
    return np.asarray(allowed & ~tail & ~head)


def cooccurrence_neighbours(
    matrix: sp.csr_matrix,
    *,
    popularity_discount: float,
    min_cointeraction: int,
    candidates: np.ndarray,
    k: int,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Top-``k`` neighbours per item by ``C[i, j] / n_j ** popularity_discount``.

    ``matrix``: binary users × items CSR float32; ``candidates``: (n_items,) bool. Returns CSR
    neighbour lists (indptr (n_items + 1,) int64, indices int64, scores float32), best first.
    Computed in blocks of query items so memory stays bounded.
    """
    n_items = matrix.shape[1]
    item_users = sp.csr_matrix(matrix.T)
    n_users_per_item = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
    discount = np.where(
        n_users_per_item > 0, np.power(np.maximum(n_users_per_item, 1.0), -popularity_discount), 0
    ).astype(np.float32)
    discount[~candidates] = 0.0
    threshold = max(1, int(min_cointeraction))
    block = max(1, min(1024, _BLOCK_CELLS // max(n_items, 1)))
    all_idx: list[IntArray] = []
    all_val: list[FloatArray] = []
    for start in range(0, n_items, block):
        stop = min(n_items, start + block)
        co = (item_users[start:stop] @ matrix).toarray()  # (b, n_items) co-counts
        co[co < threshold] = 0.0
        co[np.arange(stop - start), np.arange(start, stop)] = 0.0
        sim = co * discount[None, :]
        idx, val = top_k_rows(sim, k)
        all_idx.append(idx)
        all_val.append(val)
    if not all_idx:
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    width = max(a.shape[1] for a in all_idx)
    idx = np.concatenate([_pad(a, width, -1) for a in all_idx])
    val = np.concatenate([_pad(v, width, 0) for v in all_val]).astype(np.float32)
    return csr_from_topk(idx, val)


def _pad(array: np.ndarray, width: int, fill: float) -> np.ndarray:
    if array.shape[1] == width:
        return array
    out = np.full((array.shape[0], width), fill, dtype=array.dtype)
    out[:, : array.shape[1]] = array
    return out
