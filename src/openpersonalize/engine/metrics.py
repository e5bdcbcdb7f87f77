"""The Personalize offline metrics (spec §4.2), vectorised, with a slow reference beside them.

Every ranking metric is averaged over test users. ``top_items`` holds each user's ranked list
(position 1 first) as item indices, padded with -1 when a model returned fewer than K items.
DCG uses the gain ``1 / log2(1 + position)``; the base of the logarithm cancels in NDCG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from openpersonalize.engine.base import IntArray

TOP_K = 25
METRIC_KEYS: tuple[str, ...] = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)
EVENT_WEIGHTED_NDCG_KEY = "normalized_discounted_cumulative_gain_with_event_weights_at_k"
_CUTOFFS = (5, 10, 25)


def _discounts(k: int) -> npt.NDArray[np.float64]:
    """(k,) float64: 1 / log2(1 + position) for positions 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _hits(top_items: IntArray, relevant: Sequence[IntArray], n_items: int) -> npt.NDArray[np.bool_]:
    """(n_users, K) bool: whether the item at each position is relevant for that user."""
    n_users, k = top_items.shape
    lengths = np.fromiter((len(r) for r in relevant), dtype=np.int64, count=n_users)
    rel_users = np.repeat(np.arange(n_users, dtype=np.int64), lengths)
    rel_items: IntArray = np.zeros(0, dtype=np.int64)
    if n_users:
        rel_items = np.concatenate([np.asarray(r, dtype=np.int64) for r in relevant])
    rel_keys = rel_users * (n_items + 1) + rel_items
    top_keys = np.arange(n_users, dtype=np.int64)[:, None] * (n_items + 1) + top_items
    hits: npt.NDArray[np.bool_] = np.isin(top_keys, rel_keys) & (top_items >= 0)
    return hits.reshape(n_users, k)


def coverage(top_items: IntArray, n_items: int) -> float:
    """Distinct items recommended to any test user ÷ distinct items in the dataset group."""
    if n_items <= 0:
        return 0.0
    recommended = np.unique(top_items[top_items >= 0])
    return float(recommended.shape[0] / n_items)


def ranking_metrics(
    top_items: IntArray,
    relevant: Sequence[IntArray],
    n_items: int,
    relevant_gains: Sequence[npt.NDArray[np.floating]] | None = None,
    *,
    assume_unique: bool = False,
) -> dict[str, float]:
    """All Personalize metrics for ranked lists ``top_items`` (n_users, K ≥ 25), int64.

    ``relevant[u]`` are the distinct relevant item indices of user ``u``; ``n_items`` is the number
    of items in the dataset group (the coverage denominator). With ``relevant_gains`` (per user, the
    event-weight reward of each relevant item, aligned with ``relevant[u]``) the event-weighted
    NDCG@25 is added under :data:`EVENT_WEIGHTED_NDCG_KEY`. Users with no relevant item count as 0.
    ``assume_unique`` skips de-duplicating ``relevant`` (faster in tuning loops).
    """
    top_items = np.asarray(top_items, dtype=np.int64)
    n_users = top_items.shape[0]
    out: dict[str, float] = {"coverage": coverage(top_items, n_items)}
    if n_users == 0:
        out.update({key: 0.0 for key in METRIC_KEYS if key != "coverage"})
        return out
    if top_items.shape[1] < TOP_K:
        pad = np.full((n_users, TOP_K - top_items.shape[1]), -1, dtype=np.int64)
        top_items = np.concatenate([top_items, pad], axis=1)
    top_items = top_items[:, :TOP_K]
    hits = _hits(top_items, relevant, n_items)
    if assume_unique:
        n_relevant = np.fromiter((len(r) for r in relevant), np.int64, count=n_users)
    else:
        n_relevant = np.fromiter((np.unique(r).shape[0] for r in relevant), np.int64, count=n_users)

    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    out["mean_reciprocal_rank_at_25"] = float(
        np.mean(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0))
    )

    disc = _discounts(TOP_K)
    ideal_cum = np.concatenate([[0.0], np.cumsum(disc)])
    for k in _CUTOFFS:
        dcg = hits[:, :k] @ disc[:k]
        idcg = ideal_cum[np.minimum(n_relevant, k)]
        ndcg = np.divide(dcg, idcg, out=np.zeros(n_users), where=idcg > 0)
        out[f"normalized_discounted_cumulative_gain_at_{k}"] = float(ndcg.mean())
        out[f"precision_at_{k}"] = float(hits[:, :k].sum(axis=1).mean() / k)

    if relevant_gains is not None:
        out[EVENT_WEIGHTED_NDCG_KEY] = _weighted_ndcg(top_items, relevant, relevant_gains)
    return {key: out[key] for key in (*METRIC_KEYS, EVENT_WEIGHTED_NDCG_KEY) if key in out}


def _weighted_ndcg(
    top_items: IntArray,
    relevant: Sequence[IntArray],
    relevant_gains: Sequence[npt.NDArray[np.floating]],
) -> float:
    """Event-weighted NDCG@25: each hit's gain is its reward; the ideal sorts rewards descending."""
    disc = _discounts(TOP_K)
    scores = np.zeros(len(relevant))
    for u, (items, gains) in enumerate(zip(relevant, relevant_gains, strict=True)):
        if len(items) == 0:
            continue
        gain_of = np.zeros(top_items.shape[1])
        pos = np.searchsorted(items, top_items[u])
        pos = np.minimum(pos, len(items) - 1)
        matched = (items[pos] == top_items[u]) & (top_items[u] >= 0)
        gain_of[matched] = np.asarray(gains, dtype=np.float64)[pos[matched]]
        ideal = np.sort(np.asarray(gains, dtype=np.float64))[::-1][:TOP_K]
        idcg = float(ideal @ disc[: ideal.shape[0]])
        scores[u] = float(gain_of @ disc) / idcg if idcg > 0 else 0.0
    return float(scores.mean()) if len(relevant) else 0.0


def event_rewards(event_weights: Mapping[str, float]) -> dict[str, float]:
    """Per event type, weight ÷ mean of the configured weights (spec §2.4: 0.3/0.1 → 1.5/0.5)."""
    if not event_weights:
        return {}
    mean = sum(event_weights.values()) / len(event_weights)
    return {name: (w / mean if mean > 0 else 0.0) for name, w in event_weights.items()}


def ranking_metrics_reference(
    top_items: Sequence[Sequence[int]], relevant: Sequence[Sequence[int]], n_items: int
) -> dict[str, float]:
    """Slow, obviously-correct pure-Python version of :func:`ranking_metrics` (for tests)."""
    n_users = len(top_items)
    recommended = {i for row in top_items for i in row if i >= 0}
    out = {"coverage": len(recommended) / n_items if n_items > 0 else 0.0}
    if n_users == 0:
        out.update({key: 0.0 for key in METRIC_KEYS if key != "coverage"})
        return out
    rr_total = 0.0
    for row, rel in zip(top_items, relevant, strict=True):
        rel_set = set(rel)
        for position, item in enumerate(list(row)[:TOP_K], start=1):
            if item >= 0 and item in rel_set:
                rr_total += 1.0 / position
                break
    out["mean_reciprocal_rank_at_25"] = rr_total / n_users
    for k in _CUTOFFS:
        ndcg_total = 0.0
        precision_total = 0.0
        for row, rel in zip(top_items, relevant, strict=True):
            rel_set = set(rel)
            dcg = 0.0
            n_hits = 0
            for position, item in enumerate(list(row)[:k], start=1):
                if item >= 0 and item in rel_set:
                    dcg += 1.0 / math.log2(1 + position)
                    n_hits += 1
            idcg = sum(1.0 / math.log2(1 + p) for p in range(1, min(len(rel_set), k) + 1))
            ndcg_total += dcg / idcg if idcg > 0 else 0.0
            precision_total += n_hits / k
        out[f"normalized_discounted_cumulative_gain_at_{k}"] = ndcg_total / n_users
        out[f"precision_at_{k}"] = precision_total / n_users
    return {key: out[key] for key in METRIC_KEYS}
