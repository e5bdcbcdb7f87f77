"""Offline evaluation of a recipe with the Personalize split (spec §4).

Train on the training users, feed each test user's oldest 90 % of events to the model as a
:class:`History`, take the top 25 of the returned scores and compare with the newest 10 %.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from openpersonalize.engine.base import FloatArray, History, IntArray, Model, TrainingData
from openpersonalize.engine.metrics import TOP_K, ranking_metrics
from openpersonalize.engine.split import HeldOutUsers, personalize_split

RELATED_ITEMS = "RELATED_ITEMS"


def single_blas_thread() -> AbstractContextManager[object]:
    """Limit BLAS to one thread inside the block (a no-op without ``threadpoolctl``).

    Row-at-a-time scoring (k×k solves, matrix-vector products) is much slower with a BLAS thread
    pool than single-threaded, above all on a loaded machine.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(1, "blas")
    return limits


def top_k(scores: FloatArray, k: int = TOP_K) -> IntArray:
    """Indices of the ``k`` best scores per row, best first: (n_rows, k) int64.

    Items scored ``-inf`` (or NaN) are never returned; short rows are padded with -1.
    """
    n_rows, n_items = scores.shape
    k_eff = min(k, n_items)
    out = np.full((n_rows, k), -1, dtype=np.int64)
    if n_rows == 0 or k_eff == 0:
        return out
    clean = np.where(np.isnan(scores), -np.inf, scores)
    part = np.argpartition(-clean, k_eff - 1, axis=1)[:, :k_eff]
    part_scores = np.take_along_axis(clean, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best_scores = np.take_along_axis(part_scores, order, axis=1)
    out[:, :k_eff] = np.where(np.isfinite(best_scores), best, -1)
    return out


def rank_held_out(
    model: Model, test: HeldOutUsers, k: int = TOP_K, batch_size: int = 256
) -> IntArray:
    """Top-``k`` item indices for every held-out user: (len(test), k) int64, -1 padded.

    RELATED_ITEMS recipes are queried with the user's newest input item; every other recipe type
    (user personalization, personalized ranking over the whole catalogue, popular items) with the
    user's input history.
    """
    n = len(test)
    out = np.full((n, k), -1, dtype=np.int64)
    if n == 0:
        return out
    if model.recipe_type == RELATED_ITEMS:
        last_item = test.input_item_idx[test.input_indptr[1:] - 1]
        for lo in range(0, n, batch_size):
            out[lo : lo + batch_size] = top_k(
                model.score_related(last_item[lo : lo + batch_size]), k
            )
        return out
    histories = test.histories()
    score = _offline_scorer(model)
    with single_blas_thread():
        for lo in range(0, n, batch_size):
            out[lo : lo + batch_size] = top_k(score(histories[lo : lo + batch_size]), k)
    return out


def _defining_class(cls: type, name: str) -> type | None:
    return next((c for c in cls.__mro__ if name in vars(c)), None)


def _offline_scorer(model: Model) -> Callable[[Sequence[History]], FloatArray]:
    """``model.score_users_offline`` (a batch path giving the same scores) when the model has one
    that belongs to its ``score_users`` (not overridden below it), else ``model.score_users``."""
    online = _defining_class(type(model), "score_users")
    offline = _defining_class(type(model), "score_users_offline")
    if offline is not None and online is not None and issubclass(offline, online):
        scorer: Callable[[Sequence[History]], FloatArray] = model.score_users_offline  # type: ignore[attr-defined]
        return scorer
    return model.score_users


def evaluate_model(model: Model, test: HeldOutUsers, n_items: int) -> dict[str, float]:
    """The Personalize metrics of a trained ``model`` on held-out users (``n_items``: catalogue)."""
    return ranking_metrics(rank_held_out(model, test), test.relevant_sets(), n_items)


def evaluate(
    model_cls: type[Model],
    data: TrainingData,
    hyperparameters: Mapping[str, str],
    seed: int,
) -> dict[str, float]:
    """Split ``data`` (seeded), train ``model_cls`` on the training users, score the test users.

    Returns the Personalize metric keys (``coverage``, ``mean_reciprocal_rank_at_25``, NDCG and
    precision at 5/10/25). Training randomness comes from a generator seeded with ``seed`` too.
    """
    split = personalize_split(data, seed)
    model = model_cls.train(split.train, hyperparameters, np.random.default_rng([seed, 2]))
    return evaluate_model(model, split.test, data.n_items)
