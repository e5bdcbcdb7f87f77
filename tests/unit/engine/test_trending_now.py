"""Trending-Now: growth between consecutive intervals, updated with new events."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from openpersonalize.engine.base import History
from openpersonalize.engine.hyperparameters import validate
from openpersonalize.engine.recipes.trending_now import TrendingNow, trend_ranking
from openpersonalize.engine.training_data import build_training_data

HOUR = 3600.0
T0 = 1_700_000_000.0


def train(events: list[tuple[str, float]], frequency: str = "1 hour") -> TrendingNow:
    table = pa.table(
        {
            "USER_ID": [f"u{n}" for n in range(len(events))],
            "ITEM_ID": [item for item, _ in events],
            "TIMESTAMP": [t for _, t in events],
        }
    )
    data = build_training_data(table, minimums=None)
    params = validate("aws-trending-now", None, {"trend_discovery_frequency": frequency})
    return TrendingNow.train(data, params, np.random.default_rng(0))


def top(model: TrendingNow, k: int, now: float | None = None) -> list[str]:
    scores = model.scores_at(now)
    return model.items.ids(np.argsort(-scores, kind="stable")[:k])


def test_growth_beats_volume() -> None:
    # "old" is popular but flat; "rising" went 1 -> 5 in the last hour.
    events = [("old", T0 - 1.5 * HOUR)] * 10 + [("old", T0 - 0.5 * HOUR)] * 10
    events += [("rising", T0 - 1.5 * HOUR)] + [("rising", T0 - 0.2 * HOUR)] * 5
    events += [("falling", T0 - 1.2 * HOUR)] * 4 + [("falling", T0)]
    model = train(events)
    assert top(model, 3) == ["rising", "old", "falling"]


def test_empty_recent_intervals_return_popular_items() -> None:
    events = [("a", T0)] * 3 + [("b", T0)] * 5
    model = train(events)
    far_future = T0 + 10 * HOUR
    assert top(model, 2, far_future) == ["b", "a"]


def test_frequency_changes_the_windows() -> None:
    # Within a day both items are equal; within the last hour only "late" grew.
    events = [("early", T0 - 5 * HOUR)] * 3 + [("late", T0 - 0.1 * HOUR)] * 2
    assert top(train(events, "1 hour"), 1) == ["late"]
    assert top(train(events, "1 day"), 1) == ["early"]


def test_with_events_updates_without_retraining() -> None:
    model = train([("a", T0)] * 5 + [("b", T0)] * 2)
    assert top(model, 1) == ["a"]
    burst = ["new"] * 8 + ["b"] * 3
    updated = model.with_events(burst, np.full(len(burst), T0 + 1.5 * HOUR))
    assert "new" in updated.items and "new" not in model.items  # original untouched
    # Within the interval in progress nothing changes; once it completes, "new" trends.
    assert top(updated, 1, T0 + 1.5 * HOUR) == ["a"]
    assert top(updated, 2, T0 + 2 * HOUR) == ["new", "b"]
    scores = updated.score_users([History.empty()])
    assert scores.shape == (1, len(updated.items))


def test_with_events_rejects_mismatched_lengths() -> None:
    model = train([("a", T0)])
    with pytest.raises(ValueError, match="same length"):
        model.with_events(["a", "b"], [T0])


def test_trend_ranking_reference() -> None:
    previous = np.array([5, 0, 3, 0], dtype=np.float32)
    latest = np.array([6, 4, 1, 0], dtype=np.float32)
    popularity = np.array([50, 4, 10, 7], dtype=np.float32)
    order = np.argsort(-trend_ranking(previous, latest, popularity), kind="stable")
    assert order.tolist() == [1, 0, 2, 3]


def test_invalid_frequency_is_rejected() -> None:
    from openpersonalize.errors import InvalidInputException

    with pytest.raises(InvalidInputException, match="trend_discovery_frequency"):
        validate("aws-trending-now", None, {"trend_discovery_frequency": "5 minutes"})
