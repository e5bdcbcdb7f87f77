"""SIMS against a slow reference implementation, and its parameters' documented effects."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa

from openpersonalize.engine.base import TrainingData
from openpersonalize.engine.hyperparameters import validate
from openpersonalize.engine.recipes._common import user_item_matrix
from openpersonalize.engine.recipes.sims import (
    Sims,
    cooccurrence_neighbours,
    items_within_interaction_share,
)
from openpersonalize.engine.training_data import build_training_data


def reference_neighbours(
    histories: dict[int, set[int]], n_items: int, alpha: float, min_co: int, k: int
) -> dict[int, list[tuple[int, float]]]:
    """Pure-Python co-occurrence: score(i, j) = |U_i ∩ U_j| / |U_j| ** alpha."""
    users_of: dict[int, set[int]] = {i: set() for i in range(n_items)}
    for user, items in histories.items():
        for item in items:
            users_of[item].add(user)
    out: dict[int, list[tuple[int, float]]] = {}
    for i, j in itertools.product(range(n_items), repeat=2):
        if i == j:
            continue
        co = len(users_of[i] & users_of[j])
        if co >= max(1, min_co):
            out.setdefault(i, []).append((j, co / len(users_of[j]) ** alpha))
    return {i: sorted(v, key=lambda p: (-p[1], p[0]))[:k] for i, v in out.items()}


def random_data(rng: np.random.Generator, n_users: int = 40, n_items: int = 15) -> TrainingData:
    users, items = [], []
    for u in range(n_users):
        for i in rng.choice(n_items, size=int(rng.integers(1, 7)), replace=False):
            users.append(f"u{u}")
            items.append(f"i{i}")
    table = pa.table({"USER_ID": users, "ITEM_ID": items, "TIMESTAMP": list(range(len(users)))})
    return build_training_data(table, minimums=None)


def test_fast_kernel_matches_reference() -> None:
    rng = np.random.default_rng(0)
    for trial in range(5):
        data = random_data(rng)
        matrix = user_item_matrix(data)
        alpha, min_co = [(0.5, 1), (0.0, 2), (1.0, 3), (0.3, 0), (0.8, 2)][trial]
        indptr, indices, scores = cooccurrence_neighbours(
            matrix,
            popularity_discount=alpha,
            min_cointeraction=min_co,
            candidates=np.ones(data.n_items, dtype=bool),
            k=5,
        )
        histories: dict[int, set[int]] = {}
        for u, i in zip(data.user_idx, data.item_idx, strict=True):
            histories.setdefault(int(u), set()).add(int(i))
        expected = reference_neighbours(histories, data.n_items, alpha, min_co, 5)
        for item in range(data.n_items):
            lo, hi = indptr[item], indptr[item + 1]
            got = list(zip(indices[lo:hi].tolist(), scores[lo:hi].tolist(), strict=True))
            want = expected.get(item, [])
            assert [j for j, _ in got] == [j for j, _ in want]
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)


def test_min_cointeraction_count_drops_rare_pairs(tiny_data: TrainingData) -> None:
    strict = Sims.train(
        tiny_data, validate("aws-sims", {"min_cointeraction_count": "10"}), np.random.default_rng(0)
    )
    assert strict.indices.size == 0  # no pair in the tiny set is shared by 10 users
    a1 = tiny_data.items.index("A1")
    top = np.argmax(strict.score_related(np.array([a1]))[0])
    assert tiny_data.items.id(int(top)) == "A0"  # falls back to popularity


def test_popularity_discount_orders_popular_neighbours() -> None:
    # X0 is bought by everyone; X1 and X2 always together by a few users.
    users, items = [], []
    for u in range(30):
        users.append(f"u{u}")
        items.append("X0")
        if u < 6:
            users += [f"u{u}", f"u{u}"]
            items += ["X1", "X2"]
    table = pa.table({"USER_ID": users, "ITEM_ID": items, "TIMESTAMP": list(range(len(users)))})
    data = build_training_data(table, minimums=None)
    x1 = data.items.index("X1")

    def best(alpha: str) -> str:
        params = validate("aws-sims", {"popularity_discount_factor": alpha})
        model = Sims.train(data, params, np.random.default_rng(0))
        idx, _ = model.neighbours(x1)
        return data.items.id(int(idx[0]))

    assert best("1.0") == "X2"  # co-interaction regardless of popularity
    assert best("0.0") == "X0"  # tie in raw counts (6 each) → lower index (X0 is 0) wins
    assert best("0.5") == "X2"


def test_interaction_share_filter() -> None:
    flat = np.array([5.0, 5.0, 5.0, 5.0])
    assert items_within_interaction_share(flat, 0.01, 0.9).all()
    # Two one-off items hold < 1 % of interactions; the items below the top one hold > 90 %.
    skewed = np.array([1.0, 1.0] + [10.0] * 40 + [30.0])
    allowed = items_within_interaction_share(skewed, 0.01, 0.9)
    assert not allowed[:2].any()
    assert allowed[2:42].all()
    assert not allowed[42]
    assert not items_within_interaction_share(np.array([0.0, 3.0]), 0.0, 1.0)[0]
