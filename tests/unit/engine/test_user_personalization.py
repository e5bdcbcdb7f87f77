"""Contract tests for the user-personalization family (STYLE habit 7)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from openpersonalize.engine.base import History, Model, TrainingData
from openpersonalize.engine.evaluate import evaluate, evaluate_model, top_k
from openpersonalize.engine.metrics import METRIC_KEYS
from openpersonalize.engine.recipes import _factors as factors
from openpersonalize.engine.recipes import user_personalization as up
from openpersonalize.engine.recipes.personalized_ranking import PersonalizedRanking
from openpersonalize.engine.recipes.personalized_ranking_v2 import PersonalizedRankingV2
from openpersonalize.engine.recipes.user_personalization import UserPersonalization
from openpersonalize.engine.recipes.user_personalization_v2 import (
    UserPersonalizationV2,
    item_metadata_features,
)
from openpersonalize.engine.split import personalize_split
from tests.unit.engine._data import make_data, random_data

ALL = [UserPersonalization, PersonalizedRanking, UserPersonalizationV2, PersonalizedRankingV2]


def _sequence_data() -> tuple[list[str], list[str]]:
    """Every user walks a → b → c → d in order; popularity alone would say 'a' for everyone."""
    users: list[str] = []
    items: list[str] = []
    for u in range(30):
        walk = ["a", "b", "c", "d"][: 2 + u % 3]
        users += [f"u{u}"] * len(walk)
        items += walk
    return users, items


def _history(model: Model, item_ids: list[str]) -> History:
    idx = model.items.indices(item_ids)
    return History(idx, np.arange(len(item_ids), dtype=np.float64))


@pytest.mark.parametrize("cls", ALL)
def test_recipe_identity(cls: type[Model]) -> None:
    assert cls.realtime and cls.returns_scores
    assert cls.recipe_type in ("USER_PERSONALIZATION", "PERSONALIZED_RANKING")
    assert cls.recipe_name.startswith("aws-")


@pytest.mark.parametrize("cls", ALL)
def test_known_answer_next_item(cls: type[Model]) -> None:
    users, items = _sequence_data()
    model = cls.train(make_data(users, items), {}, np.random.default_rng(0))
    scores = model.score_users([_history(model, ["a"]), _history(model, ["a", "b"])])
    assert scores.dtype == np.float32 and scores.shape == (2, len(model.items))
    best = top_k(scores, 1)[:, 0]
    assert model.items.ids(best) == ["b", "c"]


@pytest.mark.parametrize("cls", ALL)
def test_batch_equals_single_and_empty_history(cls: type[Model]) -> None:
    data = random_data(np.random.default_rng(0))
    model = cls.train(data, {}, np.random.default_rng(0))
    histories = [History.empty(), _history(model, ["i0", "i4"]), _history(model, ["i1"])]
    batch = model.score_users(histories)
    for row, h in enumerate(histories):
        np.testing.assert_allclose(model.score_users([h])[0], batch[row], rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(batch))
    # An unknown user is ranked by (time-aware) popularity only.
    assert isinstance(model, UserPersonalization)
    pop = model.popularity if model.blend.popularity_half_life >= 0 else model.popularity_bins[-1]
    assert int(np.argmax(batch[0])) == int(np.argmax(pop))
    assert model.score_users([]).shape == (0, len(model.items))


@pytest.mark.parametrize("cls", ALL)
def test_round_trip_without_pickle(cls: type[Model]) -> None:
    data = random_data(np.random.default_rng(1))
    model = cls.train(data, {}, np.random.default_rng(0))
    arrays, meta = model.to_arrays()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as loaded:
        restored = cls.from_arrays(
            {k: loaded[k] for k in loaded.files},
            json.loads(json.dumps(meta)),
            model.items,
            model.users,
        )
    histories = [History.empty(), _history(model, ["i3", "i7", "i3"])]
    np.testing.assert_array_equal(model.score_users(histories), restored.score_users(histories))


@pytest.mark.parametrize("cls", [UserPersonalization, UserPersonalizationV2])
def test_seeded_determinism(cls: type[Model]) -> None:
    data = random_data(np.random.default_rng(2))
    a, meta_a = cls.train(data, {}, np.random.default_rng(5)).to_arrays()
    b, meta_b = cls.train(data, {}, np.random.default_rng(5)).to_arrays()
    assert meta_a == meta_b and a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_realtime_fold_in_changes_next_scores() -> None:
    users, items = _sequence_data()
    model = UserPersonalization.train(make_data(users, items), {}, np.random.default_rng(0))
    before = model.score_users([_history(model, ["a"])])[0]
    after = model.score_users([_history(model, ["a", "b", "c"])])[0]
    assert not np.allclose(before, after)
    assert model.items.id(int(np.argmax(after))) == "d"


def test_hyperparameters_are_used() -> None:
    data = random_data(np.random.default_rng(3), n_users=120, n_events=2000)
    off = UserPersonalization.train(
        data, {"recency_mask": "False", "bptt": "2"}, np.random.default_rng(0)
    )
    assert off.blend.history_decay == 1.0 and off.bptt == 2 and not off.recency_mask
    v2 = UserPersonalizationV2.train(
        data, {"apply_recency_bias": "false"}, np.random.default_rng(0)
    )
    assert v2.blend.history_decay == 1.0


def test_ials_path_for_large_catalogues(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(up, "EASE_MIN_COVERAGE", 2.0)  # force the iALS path
    data = random_data(np.random.default_rng(4), n_users=80, n_items=40, n_events=1500)
    model = UserPersonalization.train(data, {"hidden_dimension": "8"}, np.random.default_rng(0))
    assert model.ease_weights is None and model.item_factors is not None
    assert model.item_factors.shape == (data.n_items, 8)
    # Users of cluster 0 (items i0, i4, i8, ...) get cluster-0 items on top.
    scores = model.score_users([_history(model, ["i0", "i4", "i8"])])[0]
    top = model.items.ids(top_k(scores[None, :], 5)[0])
    assert sum(int(t[1:]) % 4 == 0 for t in top) >= 4
    arrays, meta = model.to_arrays()
    restored = UserPersonalization.from_arrays(arrays, meta, model.items, model.users)
    np.testing.assert_array_equal(
        restored.score_users([History.empty()]), model.score_users([History.empty()])
    )


def test_v2_metadata_reaches_cold_items() -> None:
    users, items = _sequence_data()
    data = make_data(users, items, extra_items=["cold"])
    genre = np.empty(data.n_items, dtype=object)
    genre[:] = [["x"] if data.items.id(i) in ("b", "cold") else ["y"] for i in range(data.n_items)]
    data.item_columns = {"GENRE": genre}
    data.item_categorical = ["GENRE"]
    features = item_metadata_features(data)
    assert features is not None and features.shape[0] == data.n_items
    model = UserPersonalizationV2.train(data, {}, np.random.default_rng(0))
    part = model._part("metadata", [_history(model, ["b"])], 1.0)[0]
    assert part[model.items.index("cold")] > part[model.items.index("a")]


def test_evaluate_beats_popularity_on_clustered_data() -> None:
    data = random_data(np.random.default_rng(6), n_users=300, n_items=60, n_events=6000)
    metrics = evaluate(UserPersonalization, data, {}, seed=1)
    assert tuple(metrics) == METRIC_KEYS
    split = personalize_split(data, 1)
    model = UserPersonalization.train(split.train, {}, np.random.default_rng(0))
    pop = np.bincount(split.train.item_idx, minlength=data.n_items).astype(np.float32)

    class _Pop(UserPersonalization):
        def score_users(self, histories: object) -> np.ndarray:  # type: ignore[override]
            return np.tile(pop, (len(histories), 1))  # type: ignore[arg-type]

    baseline = evaluate_model(
        _Pop.from_arrays(*model.to_arrays(), model.items, model.users), split.test, data.n_items
    )
    key = "normalized_discounted_cumulative_gain_at_10"
    assert metrics[key] > baseline[key]


@pytest.mark.parametrize("cls", [UserPersonalization, UserPersonalizationV2])
def test_degenerate_data(cls: type[Model]) -> None:
    for data in (make_data([], []), make_data(["a"], ["x"], extra_items=["cold"])):
        model = cls.train(data, {}, np.random.default_rng(0))
        scores = model.score_users([History.empty(), History.empty(user_idx=0)])
        assert scores.shape == (2, data.n_items) and np.all(np.isfinite(scores))


def test_events_config_weights_shape_the_interaction_matrix() -> None:
    """eventsConfig weights reach the model: a pair keeps its heaviest event's weight."""
    from openpersonalize.engine.recipes.user_personalization import _user_item_matrix

    data = tiny_weighted_data()
    matrix = _user_item_matrix(data).toarray()
    assert matrix[0, 0] == pytest.approx(1.0)  # click (0.2) then purchase (1.0): the purchase
    assert matrix[0, 1] == pytest.approx(0.2)  # a click only
    assert matrix[1, 1] == pytest.approx(0.2)
    assert matrix[1, 0] == 0.0


def tiny_weighted_data() -> TrainingData:
    from openpersonalize.data.vocab import Vocabulary

    return TrainingData(
        users=Vocabulary(["u0", "u1"]),
        items=Vocabulary(["i0", "i1"]),
        user_idx=np.array([0, 0, 0, 1], dtype=np.int64),
        item_idx=np.array([0, 0, 1, 1], dtype=np.int64),
        timestamp=np.array([1.0, 2.0, 3.0, 4.0]),
        event_type=np.array([0, 1, 0, 0], dtype=np.int64),
        event_types=["click", "purchase"],
        event_value=np.full(4, np.nan, dtype=np.float32),
        weight=np.array([0.2, 1.0, 0.2, 0.2], dtype=np.float32),
    )


def test_batched_fold_in_equals_one_user_at_a_time() -> None:
    """The padded batch of fold-in systems (and the long-history path) solve the same systems
    as folding each user in alone."""
    rng = np.random.default_rng(0)
    n, k = 500, 16
    y = rng.standard_normal((n, k)).astype(np.float32)
    gram = (y.T @ y + 0.1 * np.eye(k)).astype(np.float32)
    lengths = [3, 1, factors.FOLD_IN_PAD + 70, 50, 7]
    histories = [
        History(rng.integers(0, n, size=length).astype(np.int64), np.arange(float(length)))
        for length in lengths
    ]
    systems, targets = factors._fold_in_systems(histories, y, gram, 2.0, 0.9)
    for row, h in enumerate(histories):
        idx, w = up._newest_weights(h.item_idx, 0.9, 0)
        yi, conf = y[idx], np.float32(2.0) * w
        np.testing.assert_allclose(
            systems[row], gram + (yi * conf[:, None]).T @ yi, rtol=1e-4, atol=1e-3
        )
        np.testing.assert_allclose(
            targets[row], (yi * (1.0 + conf)[:, None]).sum(axis=0), rtol=1e-4, atol=1e-3
        )


@pytest.mark.parametrize("scale", [0.1, 3.0])
def test_woodbury_fold_in_equals_the_direct_solve(scale: float) -> None:
    """fold_in's rank-L update gives the user vectors of the k × k systems, short and long
    histories alike (long ones take the direct path)."""
    rng = np.random.default_rng(1)
    n, k = 400, 24
    y = (rng.standard_normal((n, k)) * scale).astype(np.float32)
    gram = (y.T @ y + 0.05 * np.eye(k)).astype(np.float32)
    lengths = [1, 2, 5, k, k + 9, 3]
    histories = [
        History(rng.integers(0, n, size=length).astype(np.int64), np.arange(float(length)))
        for length in lengths
    ]
    got = factors.fold_in(histories, y, gram, np.linalg.inv(gram.astype(np.float64)), 10.0, 0.9)
    systems, targets = factors._fold_in_systems(histories, y, gram, 10.0, 0.9)
    expected = np.linalg.solve(systems.astype(np.float64), targets.astype(np.float64)[:, :, None])
    expected = expected[:, :, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max())
