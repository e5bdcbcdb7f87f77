"""Top-k, softmax scores, exploration and promotion placement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openpersonalize.serving.selection import (
    exploration_slots,
    explore,
    merge_at,
    promote,
    softmax_normalisers,
    softmax_scores,
    top_k,
    top_k_rows,
)


def reference_top_k(scores: np.ndarray, k: int) -> list[int]:
    finite = [i for i in range(len(scores)) if np.isfinite(scores[i])]
    return sorted(finite, key=lambda i: (-scores[i], i))[:k]


@given(
    st.lists(
        st.one_of(st.floats(-5, 5, width=32), st.just(float("-inf"))), min_size=0, max_size=60
    ),
    st.integers(0, 70),
)
def test_top_k_matches_a_sort(values: list[float], k: int) -> None:
    scores = np.asarray(values, dtype=np.float32)
    assert top_k(scores, k).tolist() == reference_top_k(scores, k)


@given(
    st.integers(1, 4),
    st.integers(1, 3000),
    st.integers(1, 40),
    st.sampled_from(["unique", "ties", "filtered", "mostly-inf"]),
    st.integers(0, 2**32 - 1),
)
def test_top_k_rows_equals_top_k_per_row(m: int, n: int, k: int, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if kind == "ties":
        scores = rng.integers(0, 4, size=(m, n)).astype(np.float32)
    else:
        scores = rng.standard_normal((m, n)).astype(np.float32)
    if kind == "filtered":
        scores[rng.random((m, n)) < 0.7] = -np.inf
    if kind == "mostly-inf":
        scores[rng.random((m, n)) < 0.999] = -np.inf
    rows = top_k_rows(scores, k)
    assert [r.tolist() for r in rows] == [top_k(scores[i], k).tolist() for i in range(m)]


def test_softmax_normalisers_give_softmax_scores() -> None:
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((5, 20_000)).astype(np.float32) * 4
    scores[1, rng.random(20_000) < 0.5] = -np.inf
    scores[2, 7] = np.inf  # not usable: the exact path
    chosen = [top_k(scores[r], 10) for r in range(5)]
    tops = np.array([scores[r, c[0]] for r, c in enumerate(chosen)], dtype=np.float32)
    denominators = softmax_normalisers(scores, tops)
    assert not np.isfinite(denominators[2])
    for r in range(5):
        expected = softmax_scores(scores[r], chosen[r])
        if r == 2:
            continue  # +inf in the row: the caller takes softmax_scores
        picked = scores[r, chosen[r]].astype(np.float64)
        got = np.exp(picked - float(tops[r])) / denominators[r]
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_softmax_is_over_the_finite_candidates() -> None:
    scores = np.array([1.0, 2.0, -np.inf, 0.5], dtype=np.float32)
    out = softmax_scores(scores, np.array([1, 0, 3]))
    assert out.sum() == pytest.approx(1.0)
    assert out[0] > out[1] > out[2]
    assert softmax_scores(scores, np.array([2]))[0] == 0.0


def test_merge_keeps_both_orders() -> None:
    merged = merge_at(np.array([10, 11, 12]), np.array([1, 2]), [0, 4])
    assert merged.tolist() == [1, 10, 11, 12, 2]
    merged = merge_at(np.array([10, 11]), np.array([1, 2]), [3, 3])
    assert merged.tolist() == [10, 11, 1, 2]


@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 2**32 - 1))
def test_promote_places_promoted_items_in_order(n_regular: int, n_promo: int, seed: int) -> None:
    regular = np.arange(100, 100 + n_regular)
    promoted = np.arange(n_promo)
    n_results = max(n_promo, 1) + n_regular // 2
    out, chosen = promote(regular, promoted, n_results, np.random.default_rng(seed))
    kept_promoted = [i for i in out.tolist() if i < 100]
    # n_results leaves room for every promoted item: all of them are placed, in their order.
    assert kept_promoted == promoted.tolist()
    assert chosen == set(kept_promoted)
    assert [i for i in out.tolist() if i >= 100] == regular[: len(out) - len(chosen)].tolist()
    assert len(out) == min(n_results, n_regular + n_promo)  # the slots are filled


def test_exploration_takes_a_share_of_slots_for_eligible_items() -> None:
    scores = np.linspace(1.0, 0.0, 100).astype(np.float32)
    eligible = np.zeros(100, dtype=bool)
    eligible[90:] = True
    ranked = top_k(scores, 20)
    out, explored = explore(ranked, scores, eligible, 20, 0.3, np.random.default_rng(0))
    assert len(out) == 20 and len(set(out.tolist())) == 20
    assert len(explored) == exploration_slots(20, 0.3) == 3
    assert explored <= set(range(90, 100))
    assert out[0] == 0  # the best item keeps the first slot
    none, nothing = explore(ranked, scores, eligible, 20, 0.0, np.random.default_rng(0))
    assert none.tolist() == ranked.tolist() and not nothing
