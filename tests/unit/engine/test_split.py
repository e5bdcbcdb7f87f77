from __future__ import annotations

import numpy as np

from openpersonalize.engine.split import personalize_split, validation_split
from tests.unit.engine._data import make_data, random_data


def test_known_answer_single_test_user() -> None:
    # u1 has 10 events, u0..u9 others 1 event each: only u1 is eligible, and 10% of 11 users → 1.
    users = ["u1"] * 10 + [f"x{i}" for i in range(10)]
    items = [f"i{i}" for i in range(10)] + ["i0"] * 10
    ts = list(range(10, 0, -1)) + [100.0] * 10  # u1's events arrive newest first
    data = make_data(users, items, ts)
    split = personalize_split(data, seed=3)
    assert split.test.user_idx.tolist() == [data.users.index("u1")]
    (history,) = split.test.histories()
    # The oldest 9 events are input (oldest first); the newest one (i0 at t=10) is relevant.
    assert data.items.ids(history.item_idx) == [f"i{i}" for i in range(9, 0, -1)]
    assert np.all(np.diff(history.timestamp) >= 0)
    assert history.user_idx == -1
    (relevant,) = split.test.relevant_sets()
    assert data.items.ids(relevant) == ["i0"]
    assert split.train.n_interactions == 10
    assert not np.any(split.train.user_idx == data.users.index("u1"))


def test_split_properties_and_determinism() -> None:
    data = random_data(np.random.default_rng(0), n_users=200, n_events=3000)
    a = personalize_split(data, seed=7)
    b = personalize_split(data, seed=7)
    c = personalize_split(data, seed=8)
    assert np.array_equal(a.test.user_idx, b.test.user_idx)
    assert np.array_equal(a.test.relevant_item_idx, b.test.relevant_item_idx)
    assert not np.array_equal(a.test.user_idx, c.test.user_idx)
    counts = np.bincount(data.user_idx, minlength=data.n_users)
    assert len(a.test) == round(0.1 * np.count_nonzero(counts))
    assert np.all(counts[a.test.user_idx] >= 2)
    n_in = np.diff(a.test.input_indptr)
    n_rel = np.diff(a.test.relevant_indptr)
    assert np.all(n_in >= 1) and np.all(n_rel >= 1)
    assert np.array_equal(n_in + n_rel, counts[a.test.user_idx])
    assert a.train.n_interactions + int(counts[a.test.user_idx].sum()) == data.n_interactions
    assert np.all(np.diff(a.train.timestamp) >= 0)


def test_validation_split_never_touches_test_users() -> None:
    data = random_data(np.random.default_rng(1), n_users=300, n_events=4000)
    split = personalize_split(data, seed=1)
    val = validation_split(split.train, seed=1)
    assert len(val.test) > 0
    assert not set(val.test.user_idx.tolist()) & set(split.test.user_idx.tolist())
    assert val.train.n_interactions < split.train.n_interactions


def test_empty_and_tiny_data() -> None:
    data = make_data(["a"], ["i"])
    split = personalize_split(data, seed=0)
    assert len(split.test) == 0
    assert split.test.histories() == []
    assert split.train.n_interactions == 1
