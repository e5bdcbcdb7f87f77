"""optimizationObjective through the control plane and the solution-version job, in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.datasets import small
from openpersonalize.engine.artifacts import load_model
from openpersonalize.engine.metrics import METRIC_KEYS
from openpersonalize.engine.objective import AVERAGE_REWARDS_KEY
from openpersonalize.engine.recipes.user_personalization import UserPersonalization
from openpersonalize.errors import InvalidInputException
from tests.unit.jobs.training_fixtures import (
    add_dataset,
    call,
    create_solution,
    make,
    make_group,
    train,
)

UP = "aws-user-personalization"


def objective(attribute: str | None = "PRICE", sensitivity: str | None = "HIGH") -> dict[str, Any]:
    raw: dict[str, str] = {}
    if attribute is not None:
        raw["itemAttribute"] = attribute
    if sensitivity is not None:
        raw["objectiveSensitivity"] = sensitivity
    return {"optimizationObjective": raw}


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, str]:
    ctx = make(tmp_path_factory.mktemp("objective"), max_active_solutions_per_dataset_group=30)
    return ctx, make_group(ctx, "objective")["group"]


@pytest.mark.parametrize(
    ("recipe", "config", "message"),
    [
        (UP, objective("TITLE"), "itemAttribute TITLE must be a numerical column"),
        (UP, objective("GENRES"), "itemAttribute GENRES must be a numerical column"),
        (UP, objective("COST"), "itemAttribute COST is not a column of the Items dataset"),
        (UP, objective(None, "LOW"), "optimizationObjective needs an itemAttribute"),
        ("aws-sims", objective(), "optimizationObjective is not supported by aws-sims"),
        ("aws-popularity-count", objective(), "not supported by aws-popularity-count"),
    ],
)
def test_create_solution_refuses_what_cannot_work(
    group: tuple[Context, str], recipe: str, config: dict[str, Any], message: str
) -> None:
    ctx, arn = group
    with pytest.raises(InvalidInputException, match=message) as info:
        create_solution(ctx, arn, "refused", recipe, solutionConfig=config)
    if "column" in message:
        assert "Numerical columns of the Items schema: PRICE, CREATION_TIMESTAMP." in str(
            info.value
        )


def test_a_nullable_column_is_refused(tmp_path: Path) -> None:
    ctx = make(tmp_path)
    group = make_group(ctx, "nullable", with_items=False)["group"]
    tables = small("custom", 0, n_users=120, n_items=80, n_interactions=2400)
    schema = tables.schemas["items"].replace('"type": "float"', '"type": ["null", "float"]')
    add_dataset(ctx, group, "Items", schema, tables.items)
    with pytest.raises(InvalidInputException, match="PRICE must not be nullable"):
        create_solution(ctx, group, "nullable", UP, solutionConfig=objective())


@pytest.mark.parametrize("recipe", [UP, "aws-personalized-ranking-v2"])
def test_training_blends_the_objective_and_reports_average_rewards(
    group: tuple[Context, str], recipe: str
) -> None:
    ctx, arn = group
    plain = train(ctx, create_solution(ctx, arn, f"plain-{recipe}", recipe))
    metrics: dict[str, dict[str, float]] = {}
    for sensitivity in ("OFF", "HIGH"):
        solution = create_solution(
            ctx,
            arn,
            f"{sensitivity}-{recipe}",
            recipe,
            solutionConfig=objective("PRICE", sensitivity),
        )
        version = train(ctx, solution)
        assert version["status"] == lifecycle.ACTIVE, version.get("failureReason")
        got = call(ctx, "GetSolutionMetrics", solutionVersionArn=version["arn"])["metrics"]
        assert set(got) == {*METRIC_KEYS, AVERAGE_REWARDS_KEY}
        assert 0.0 < got[AVERAGE_REWARDS_KEY] <= 1.0
        metrics[sensitivity] = got
        model = load_model(ctx.data_dir / version["artifact"])
        assert isinstance(model, UserPersonalization) and model.objective is not None
        assert (model.objective.item_attribute, model.objective.sensitivity) == (
            "PRICE",
            sensitivity,
        )
    # OFF ranks by relevance only: the same model and metrics as without an objective.
    off = {k: v for k, v in metrics["OFF"].items() if k != AVERAGE_REWARDS_KEY}
    assert off == plain["metrics"]
    assert metrics["HIGH"] != metrics["OFF"]


def test_training_fails_when_the_column_is_not_there(tmp_path: Path) -> None:
    ctx = make(tmp_path)
    no_items = make_group(ctx, "no-items", with_items=False)["group"]
    # Without an Items dataset CreateSolution cannot check the column: training does.
    version = train(ctx, create_solution(ctx, no_items, "s", UP, solutionConfig=objective()))
    assert version["status"] == lifecycle.CREATE_FAILED
    assert version["failureReason"] == (
        "The optimizationObjective itemAttribute PRICE needs an Items dataset, and the dataset "
        "group has none."
    )
    with_items = make_group(ctx, "excluded")["group"]
    excluded = {
        **objective(),
        "trainingDataConfig": {"excludedDatasetColumns": {"ITEMS": ["PRICE"]}},
    }
    version = train(ctx, create_solution(ctx, with_items, "x", UP, solutionConfig=excluded))
    assert version["status"] == lifecycle.CREATE_FAILED
    assert (
        "itemAttribute PRICE is not a numerical column of the Items data used for training"
        in (version["failureReason"])
    )


def test_an_update_keeps_the_objective(group: tuple[Context, str]) -> None:
    ctx, arn = group
    solution = create_solution(ctx, arn, "update", UP, solutionConfig=objective("PRICE", "LOW"))
    full = train(ctx, solution)
    update = train(ctx, solution, trainingMode="UPDATE")
    assert update["status"] == lifecycle.ACTIVE, update.get("failureReason")
    assert update["metrics"] == full["metrics"]
    model = load_model(ctx.data_dir / update["artifact"])
    assert isinstance(model, UserPersonalization) and model.objective is not None
    assert model.objective.sensitivity == "LOW"
