"""optimizationObjective: parsing and schema checks, the blend, the artifact, the metric."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openpersonalize.engine.artifacts import load_model, save_model
from openpersonalize.engine.base import History, TrainingData
from openpersonalize.engine.evaluate import top_k
from openpersonalize.engine.objective import (
    AVERAGE_REWARDS_KEY,
    ItemObjective,
    Objective,
    ObjectiveError,
    average_rewards_at_k,
    average_rewards_at_k_reference,
    check_items_schema,
    fit_objective,
    normalise,
    parse_objective,
    raw_values,
)
from openpersonalize.engine.offline_metrics import ranking_model_metrics
from openpersonalize.engine.recipes.personalized_ranking_v2 import PersonalizedRankingV2
from openpersonalize.engine.recipes.user_personalization import UserPersonalization
from openpersonalize.engine.split import personalize_split
from tests.schemas import record
from tests.unit.engine.conftest import tiny_tables

RECIPE = "aws-user-personalization"


def items_schema(*fields: tuple[str, object]) -> dict[str, object]:
    return record("Items", [("ITEM_ID", "string"), *fields])


def test_parse_objective() -> None:
    assert parse_objective(None) is None
    assert parse_objective({}) is None
    assert parse_objective({"optimizationObjective": {}}) is None
    assert (
        parse_objective({"optimizationObjective": {"objectiveSensitivity": "OFF"}}) is None
    )  # nothing to optimize, nothing to refuse
    assert parse_objective({"optimizationObjective": {"itemAttribute": "PRICE"}}) == Objective(
        "PRICE", "MEDIUM"
    )
    high = parse_objective(
        {"optimizationObjective": {"itemAttribute": "PRICE", "objectiveSensitivity": "HIGH"}}
    )
    assert high == Objective("PRICE", "HIGH") and high.weight == 0.75
    with pytest.raises(ObjectiveError, match="needs an itemAttribute"):
        parse_objective({"optimizationObjective": {"objectiveSensitivity": "LOW"}})
    with pytest.raises(ObjectiveError, match="LOW, MEDIUM, HIGH"):
        parse_objective(
            {"optimizationObjective": {"itemAttribute": "P", "objectiveSensitivity": "X"}}
        )


@pytest.mark.parametrize("avro", ["int", "long", "float", "double", {"type": "float"}])
def test_a_numeric_non_null_column_is_accepted(avro: object) -> None:
    check_items_schema(Objective("PRICE"), items_schema(("PRICE", avro)))


@pytest.mark.parametrize(
    ("fields", "attribute", "message"),
    [
        ((("PRICE", "float"),), "COST", "COST is not a column of the Items dataset"),
        ((("PRICE", "float"),), "price", "price is not a column"),  # names are case-sensitive
        (
            (("GENRE", "string"),),
            "GENRE",
            re.escape("must be a numerical column (int, long, float or double)"),
        ),
        ((("FLAG", "boolean"),), "FLAG", "not boolean"),
        ((("PRICE", ["null", "float"]),), "PRICE", "PRICE must not be nullable"),
        ((), "ITEM_ID", "must be a numerical column"),
    ],
)
def test_other_columns_are_refused_naming_the_numeric_ones(
    fields: tuple[tuple[str, object], ...], attribute: str, message: str
) -> None:
    schema = items_schema(*fields, ("YEAR", "int"))
    with pytest.raises(ObjectiveError, match=message) as info:
        check_items_schema(Objective(attribute), schema)
    if "nullable" not in message:
        assert "Numerical columns of the Items schema: " in info.value.message
        assert "YEAR" in info.value.message


def test_normalise() -> None:
    values = np.array([10.0, np.nan, 30.0, 20.0])
    np.testing.assert_array_equal(normalise(values), np.array([0.0, 0.0, 1.0, 0.5], np.float32))
    np.testing.assert_array_equal(normalise(np.array([7.0, 7.0, np.nan])), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(normalise(np.array([np.nan])), [0.0])
    assert normalise(np.zeros(0)).shape == (0,)


def test_the_blend_scales_positive_scores_only() -> None:
    values = np.array([0.0, 0.5, 1.0, 1.0], dtype=np.float32)
    scores = np.array([[1.0, 1.0, 1.0, -2.0], [0.0, 2.0, 0.5, 0.0]], dtype=np.float32)
    off = ItemObjective("P", "OFF", values).apply(scores.copy())
    np.testing.assert_array_equal(off, scores)
    medium = ItemObjective("P", "MEDIUM", values).apply(scores.copy())
    np.testing.assert_allclose(medium, [[0.5, 0.75, 1.0, -2.0], [0.0, 1.5, 0.5, 0.0]])
    high = ItemObjective("P", "HIGH", values).apply(scores.copy())
    np.testing.assert_allclose(high[0, :3], [0.25, 0.625, 1.0])
    low = ItemObjective("P", "LOW", values).apply(scores.copy())
    np.testing.assert_allclose(low[0, :3], [0.75, 0.875, 1.0])


def _tiny() -> tuple[TrainingData, dict[str, object]]:
    from openpersonalize.engine.training_data import build_training_data

    interactions, items, schema = tiny_tables()
    return build_training_data(interactions, items, items_schema=schema, minimums=None), schema


def _fitted(data: TrainingData, schema: dict[str, object], sensitivity: str) -> ItemObjective:
    return fit_objective(Objective("PRICE", sensitivity), RECIPE, data, schema).item


def test_fit_objective_checks_recipe_schema_and_data() -> None:
    data, schema = _tiny()
    fitted = fit_objective(Objective("PRICE", "HIGH"), RECIPE, data, schema)
    prices = {"A": 10.0, "B": 50.0, "C": 900.0}
    expected = [prices[i[0]] for i in data.items.ids()]
    np.testing.assert_array_equal(fitted.rewards, expected)
    np.testing.assert_allclose(fitted.item.values, (np.array(expected) - 10.0) / 890.0, rtol=1e-6)
    with pytest.raises(ObjectiveError, match="not supported by aws-sims"):
        fit_objective(Objective("PRICE"), "aws-sims", data, schema)
    with pytest.raises(ObjectiveError, match="needs an Items dataset"):
        fit_objective(Objective("PRICE"), RECIPE, data, None)
    data.item_columns.pop("PRICE")  # e.g. excluded by trainingDataConfig
    with pytest.raises(ObjectiveError, match="not a numerical column of the Items data"):
        raw_values(data, Objective("PRICE"))


def test_the_model_scores_are_its_relevance_blended_and_relevance_still_leads() -> None:
    data, schema = _tiny()
    model = UserPersonalization.train(data, {}, np.random.default_rng(0))
    loyal = History(data.items.indices(["A0", "A1"]), np.arange(2.0))
    histories = [History.empty(), loyal]
    relevance = model.with_objective(None).score_users(histories)
    for sensitivity in ("OFF", "LOW", "MEDIUM", "HIGH"):
        objective = _fitted(data, schema, sensitivity)
        blended = model.with_objective(objective).score_users(histories)
        np.testing.assert_array_equal(blended, objective.apply(relevance.copy()))
    # Cluster C costs 900, cluster A 10: a user whose history is all cluster A still gets
    # cluster A first at HIGH. The objective re-weights relevance; it does not replace it.
    top = model.score_users([loyal])
    assert {i[0] for i in data.items.ids(top_k(top, 4)[0])} == {"A"}


def test_known_answer_the_more_valuable_of_two_relevant_items_moves_up() -> None:
    data, schema = _tiny()
    model = UserPersonalization.train(data, {}, np.random.default_rng(0))
    loyal = History(data.items.indices(["A0", "A1"]), np.arange(2.0))
    relevance = model.score_users([loyal])[0]
    first, second = top_k(relevance[None, :], 2)[0]
    assert relevance[second] > 0.5 * relevance[first] > 0  # close enough for MEDIUM to swap
    # MARGIN: the runner-up is the most valuable item, the favourite the least.
    margin = np.full(data.n_items, 50.0)
    margin[first], margin[second] = 0.0, 100.0
    data.item_columns["MARGIN"] = margin
    fields = [*schema["fields"], {"name": "MARGIN", "type": "double"}]
    schema = {**schema, "fields": fields}
    order = {}
    for sensitivity in ("OFF", "LOW", "MEDIUM", "HIGH"):
        objective = fit_objective(Objective("MARGIN", sensitivity), RECIPE, data, schema).item
        order[sensitivity] = top_k(model.with_objective(objective).score_users([loyal]), 2)[0]
    assert order["OFF"].tolist() == [first, second]
    assert order["MEDIUM"].tolist() == order["HIGH"].tolist() == [second, first]
    # LOW swaps only when the runner-up was within 25 % of the favourite: check the rule.
    swapped_at_low = relevance[second] > 0.75 * relevance[first]
    assert order["LOW"].tolist() == ([second, first] if swapped_at_low else [first, second])


def test_both_scoring_paths_and_the_artifact_apply_the_same_blend(tmp_path: Path) -> None:
    data, schema = _tiny()
    model = PersonalizedRankingV2.train(data, {}, np.random.default_rng(0))
    model.with_objective(_fitted(data, schema, "MEDIUM"))
    histories = [History.empty(), History(data.items.indices(["B1", "C2"]), np.arange(2.0))]
    online = model.score_users(histories)
    np.testing.assert_allclose(model.score_users_offline(histories), online, rtol=1e-5, atol=1e-6)
    loaded = load_model(save_model(model, tmp_path))
    assert isinstance(loaded, UserPersonalization) and loaded.objective is not None
    assert (loaded.objective.item_attribute, loaded.objective.sensitivity) == ("PRICE", "MEDIUM")
    np.testing.assert_array_equal(loaded.score_users(histories), online)
    # Without an objective the artifact has no objective array, and the model loads without one.
    plain = load_model(save_model(model.with_objective(None), tmp_path / "plain"))
    assert isinstance(plain, UserPersonalization) and plain.objective is None


def test_offline_metrics_add_average_rewards_and_off_is_relevance_only() -> None:
    data, schema = _tiny()
    split = personalize_split(data, 0, test_fraction=0.3)
    model = UserPersonalization.train(split.train, {}, np.random.default_rng(0))
    plain = ranking_model_metrics(model, split.test, data.n_items)
    assert AVERAGE_REWARDS_KEY not in plain
    for sensitivity in ("OFF", "HIGH"):
        fitted = fit_objective(Objective("PRICE", sensitivity), RECIPE, data, schema)
        model.with_objective(fitted.item)
        metrics = ranking_model_metrics(model, split.test, data.n_items, None, fitted.rewards)
        assert 0.0 < metrics[AVERAGE_REWARDS_KEY] <= 1.0
        if sensitivity == "OFF":
            assert {k: v for k, v in metrics.items() if k != AVERAGE_REWARDS_KEY} == plain


def test_average_rewards_known_answer() -> None:
    rewards = np.array([10.0, 0.0, 30.0, 60.0])
    top = np.array([[2, 0, -1], [1, -1, -1], [3, 2, 1]], dtype=np.int64)
    relevant = [np.array([0, 3]), np.array([1]), np.array([2, 3])]
    # user 0: 10 of 70; user 1: worth nothing, skipped; user 2: 90 of 90.
    expected = (10 / 70 + 1.0) / 2
    assert average_rewards_at_k(top, relevant, rewards) == pytest.approx(expected)
    assert average_rewards_at_k(top[:0], [], rewards) == 0.0
    assert average_rewards_at_k(top[1:2], relevant[1:2], rewards) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n_items: st.tuples(
            st.lists(st.floats(0, 100, allow_nan=False), min_size=n_items, max_size=n_items),
            st.lists(
                st.tuples(
                    st.lists(st.integers(-1, n_items - 1), min_size=25, max_size=30),
                    st.sets(st.integers(0, n_items - 1), max_size=n_items),
                ),
                max_size=6,
            ),
        )
    )
)
def test_average_rewards_matches_the_reference(
    case: tuple[list[float], list[tuple[list[int], set[int]]]],
) -> None:
    item_rewards, users = case
    width = max((len(row) for row, _ in users), default=25)
    top = np.full((len(users), width), -1, dtype=np.int64)
    for u, (row, _) in enumerate(users):
        top[u, : len(row)] = row
    relevant = [np.array(sorted(rel), dtype=np.int64) for _, rel in users]
    fast = average_rewards_at_k(top, relevant, np.asarray(item_rewards))
    slow = average_rewards_at_k_reference(
        top.tolist(), [r.tolist() for r in relevant], item_rewards
    )
    assert fast == pytest.approx(slow, abs=1e-9)
