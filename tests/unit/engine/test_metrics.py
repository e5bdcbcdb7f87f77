from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openpersonalize.engine.metrics import (
    EVENT_WEIGHTED_NDCG_KEY,
    METRIC_KEYS,
    event_rewards,
    ranking_metrics,
    ranking_metrics_reference,
)


def _ranked_with_hits_at(positions: list[int], n_items: int = 100) -> tuple[list[int], list[int]]:
    """A ranked list of 25 items where the relevant ones sit at the given 1-based positions."""
    row = list(range(50, 75))
    relevant = []
    for p in positions:
        row[p - 1] = p  # items 1..25 are relevant, 50.. are not
        relevant.append(p)
    return row, relevant


def test_mrr_worked_example() -> None:
    rows, rels = zip(*(_ranked_with_hits_at(p) for p in ([4, 10], [2, 4, 12], [6])), strict=True)
    m = ranking_metrics(np.array(rows), [np.array(r) for r in rels], 100)
    assert m["mean_reciprocal_rank_at_25"] == pytest.approx(0.3056, abs=1e-4)


def test_ndcg_and_precision_worked_example() -> None:
    row, rel = _ranked_with_hits_at([2, 5])
    m = ranking_metrics(np.array([row]), [np.array(rel)], 100)
    assert m["normalized_discounted_cumulative_gain_at_5"] == pytest.approx(0.6241, abs=1e-4)
    assert m["precision_at_5"] == pytest.approx(0.4)
    assert m["precision_at_25"] == pytest.approx(2 / 25)
    assert m["coverage"] == pytest.approx(25 / 100)
    assert tuple(k for k in m) == METRIC_KEYS


def test_short_lists_and_no_users() -> None:
    m = ranking_metrics(np.array([[3, -1]]), [np.array([3])], 10)
    assert m["normalized_discounted_cumulative_gain_at_25"] == pytest.approx(1.0)
    assert m["coverage"] == pytest.approx(0.1)
    empty = ranking_metrics(np.zeros((0, 25), dtype=np.int64), [], 10)
    assert set(empty) == set(METRIC_KEYS) and all(v == 0.0 for v in empty.values())


def test_event_weighted_ndcg() -> None:
    rewards = event_rewards({"purchase": 0.3, "click": 0.1})
    assert rewards == pytest.approx({"purchase": 1.5, "click": 0.5})
    row, rel = _ranked_with_hits_at([1, 2])
    # The click (low reward) is ranked above the purchase: below the ideal order.
    m = ranking_metrics(np.array([row]), [np.array(rel)], 100, [np.array([0.5, 1.5])])
    assert 0.0 < m[EVENT_WEIGHTED_NDCG_KEY] < 1.0
    m = ranking_metrics(np.array([row]), [np.array(rel)], 100, [np.array([1.5, 0.5])])
    assert m[EVENT_WEIGHTED_NDCG_KEY] == pytest.approx(1.0)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[list[int]], list[list[int]], int]:
    n_items = draw(st.integers(1, 40))
    n_users = draw(st.integers(0, 6))
    rows: list[list[int]] = []
    rels: list[list[int]] = []
    for _ in range(n_users):
        ranked = draw(st.permutations(range(n_items)))[:25]
        ranked = ranked + [-1] * (25 - len(ranked))
        rows.append(ranked)
        rels.append(sorted(draw(st.sets(st.integers(0, n_items - 1), min_size=0, max_size=8))))
    return rows, rels, n_items


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_vectorised_matches_reference(case: tuple[list[list[int]], list[list[int]], int]) -> None:
    rows, rels, n_items = case
    top = np.array(rows, dtype=np.int64).reshape(len(rows), 25)
    fast = ranking_metrics(top, [np.array(r, dtype=np.int64) for r in rels], n_items)
    slow = ranking_metrics_reference(rows, rels, n_items)
    assert fast == pytest.approx(slow, abs=1e-9)
