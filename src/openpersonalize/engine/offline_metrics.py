"""The metrics a training job stores for GetSolutionMetrics / Recommender.modelMetrics (spec §4).

Ranking recipes use the Personalize split (:func:`~openpersonalize.engine.split.personalize_split`)
and :func:`~openpersonalize.engine.evaluate.rank_held_out`; with ``eventsConfig`` the
event-weighted NDCG is added, with ``optimizationObjective`` ``average_rewards_at_k``
(:mod:`openpersonalize.engine.objective`). USER_SEGMENTATION recipes split each user's events
80 % / 20 % by time and score, per test item, the top 1 % of users the model ranks for it, with
Personalize's hit and recall at K (spec §4.2: hit is an average number of users, not a rate;
recall is the average fraction of the K users who match, hit ÷ K).
Their metric keys are not published (spec Appendix C.7); we report ``hits_at_1_percent``,
``recall_at_1_percent`` and ``coverage``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from openpersonalize.engine.base import IntArray, Model, TrainingData
from openpersonalize.engine.evaluate import rank_held_out
from openpersonalize.engine.metrics import event_rewards, ranking_metrics
from openpersonalize.engine.objective import AVERAGE_REWARDS_KEY, average_rewards_at_k
from openpersonalize.engine.split import HeldOutUsers, subset_interactions

SEGMENT_TRAIN_FRACTION = 0.8
SEGMENT_USER_FRACTION = 0.01
MAX_SEGMENT_QUERIES = 500
HITS_KEY = "hits_at_1_percent"
RECALL_KEY = "recall_at_1_percent"


def relevant_gains(
    test: HeldOutUsers, relevant: list[IntArray], event_weights: Mapping[str, float]
) -> list[npt.NDArray[np.float64]]:
    """Per test user, the reward of each distinct relevant item (its best event's reward).

    ``event_weights`` maps event types (matched case-insensitively) to eventsConfig weights.
    """
    rewards = {k.lower(): v for k, v in event_rewards(event_weights).items()}
    type_reward = np.array(
        [rewards.get(name.lower(), 0.0) for name in test.event_types] + [0.0], dtype=np.float64
    )
    out: list[npt.NDArray[np.float64]] = []
    ptr = test.relevant_indptr
    for row, items in enumerate(relevant):
        lo, hi = int(ptr[row]), int(ptr[row + 1])
        gains = np.zeros(items.shape[0], dtype=np.float64)
        event_items = test.relevant_item_idx[lo:hi]
        event_gain = type_reward[test.relevant_event_type[lo:hi]]  # -1 → the trailing 0.0
        pos = np.searchsorted(items, event_items)
        np.maximum.at(gains, pos, event_gain)
        out.append(gains)
    return out


def ranking_model_metrics(
    model: Model,
    test: HeldOutUsers,
    n_items: int,
    event_weights: Mapping[str, float] | None = None,
    item_rewards: npt.NDArray[np.float64] | None = None,
) -> dict[str, float]:
    """Personalize metrics of ``model`` on held-out users; event-weighted NDCG with weights;
    ``average_rewards_at_k`` with ``item_rewards`` ((n_items,) float64 ≥ 0, the
    optimizationObjective's value of every item)."""
    top = rank_held_out(model, test)
    relevant = test.relevant_sets()
    gains = relevant_gains(test, relevant, event_weights) if event_weights else None
    metrics = ranking_metrics(top, relevant, n_items, gains)
    if item_rewards is not None:
        metrics[AVERAGE_REWARDS_KEY] = average_rewards_at_k(top, relevant, item_rewards)
    return metrics


# --- user segmentation ------------------------------------------------------------------------


def segmentation_split(
    data: TrainingData, train_fraction: float = SEGMENT_TRAIN_FRACTION
) -> tuple[TrainingData, IntArray, IntArray]:
    """Per user, the oldest ``train_fraction`` of events train; the newest rest (at least one event
    for users with two or more) are the truth.

    Returns the training data and the test events' (user_idx, item_idx), each (n_test,) int64.
    """
    n = data.n_interactions
    order = np.argsort(data.user_idx, kind="stable")  # grouped by user, oldest first within
    counts = np.bincount(data.user_idx, minlength=data.n_users).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
    sorted_users = data.user_idx[order]
    position = np.arange(n, dtype=np.int64) - starts[sorted_users]
    n_test = np.floor((1.0 - train_fraction) * counts + 0.5).astype(np.int64)
    n_test = np.where(counts >= 2, np.maximum(n_test, 1), 0)
    is_test_sorted = position >= (counts - n_test)[sorted_users]
    is_test = np.zeros(n, dtype=bool)
    is_test[order] = is_test_sorted
    train = subset_interactions(data, ~is_test)
    return train, data.user_idx[is_test].astype(np.int64), data.item_idx[is_test].astype(np.int64)


def segmentation_metrics(
    model: Model,
    test_users: IntArray,
    test_items: IntArray,
    n_users: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Hit and recall of the top 1 % users per test item (at most 500 items, drawn with ``rng``).

    ``hits``: mean number of the top-K users who interacted with the item in the test period, a
    count in [0, K] as Personalize defines "hit at K" (spec §4.2); ``recall``: mean fraction of
    the top-K users who did, that number ÷ K, in [0, 1] as Personalize defines "recall at K" (so
    an item fewer than K users took cannot reach 1); ``coverage``: distinct users in any segment
    ÷ users.
    """
    score_users_for_items = getattr(model, "score_users_for_items", None)
    if score_users_for_items is None or test_items.size == 0 or n_users == 0:
        return {HITS_KEY: 0.0, RECALL_KEY: 0.0, "coverage": 0.0}
    k = max(1, math.ceil(SEGMENT_USER_FRACTION * n_users))
    queries = np.unique(test_items)
    if queries.size > MAX_SEGMENT_QUERIES:
        queries = np.sort(rng.choice(queries, size=MAX_SEGMENT_QUERIES, replace=False))
    truth: dict[int, set[int]] = {int(i): set() for i in queries}
    for user, item in zip(test_users.tolist(), test_items.tolist(), strict=True):
        if item in truth:
            truth[item].add(user)
    hits: list[float] = []
    recalls: list[float] = []
    segmented: set[int] = set()
    for lo in range(0, queries.size, 64):
        batch = queries[lo : lo + 64]
        scores = np.asarray(score_users_for_items(batch), dtype=np.float32)
        k_eff = min(k, scores.shape[1])
        top = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        for row, item in enumerate(batch.tolist()):
            chosen = set(top[row].tolist())
            segmented |= chosen
            found = len(chosen & truth[item])
            hits.append(float(found))
            recalls.append(found / k_eff)
    return {
        HITS_KEY: float(np.mean(hits)),
        RECALL_KEY: float(np.mean(recalls)),
        "coverage": len(segmented) / n_users,
    }
