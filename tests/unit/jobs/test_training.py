"""The solution-version job, run in-process on a temporary data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from openpersonalize.cli import main
from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.engine.artifacts import load_model
from openpersonalize.engine.metrics import METRIC_KEYS
from openpersonalize.engine.recipes import available_recipes
from openpersonalize.engine.split import HeldOutUsers
from openpersonalize.errors import InvalidInputException, LimitExceededException
from openpersonalize.jobs import training
from openpersonalize.settings import load_config
from tests.unit.jobs.training_fixtures import (
    call,
    create_solution,
    make,
    make_group,
    run_jobs,
    train,
)

SEGMENTATION = ("aws-item-affinity", "aws-item-attribute-affinity")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, dict[str, str]]:
    ctx = make(tmp_path_factory.mktemp("training"))
    return ctx, make_group(ctx, "shared")


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Context, dict[str, str]]:
    ctx = make(tmp_path)
    return ctx, make_group(ctx, "g")


# Next-best-action needs Actions datasets: tests/contract/test_next_best_action.py trains it.
@pytest.mark.parametrize("recipe", [r for r in available_recipes() if r != "aws-next-best-action"])
def test_every_recipe_trains_to_active_with_metrics_and_artifact(
    shared: tuple[Context, dict[str, str]], recipe: str
) -> None:
    ctx, arns = shared
    solution = create_solution(ctx, arns["group"], f"all-{recipe}", recipe)
    version = train(ctx, solution)
    assert version["status"] == lifecycle.ACTIVE, version.get("failureReason")
    model = load_model(ctx.data_dir / version["artifact"])
    assert model.recipe_name == recipe
    assert not Path(version["artifact"]).is_absolute()
    assert version["trainingHours"] > 0
    metrics = call(ctx, "GetSolutionMetrics", solutionVersionArn=version["arn"])["metrics"]
    if recipe in SEGMENTATION:
        assert set(metrics) == {"hits_at_1_percent", "recall_at_1_percent", "coverage"}
    else:
        assert set(metrics) == set(METRIC_KEYS)
        assert 0.0 <= metrics["precision_at_25"] <= 1.0
        assert metrics["coverage"] > 0.0
    assert all(isinstance(v, float) for v in metrics.values())
    # Solutions are capped per dataset group: free the slot for the next recipe.
    call(ctx, "DeleteSolution", solutionArn=solution)


def test_training_is_deterministic(fresh: tuple[Context, dict[str, str]]) -> None:
    ctx, arns = fresh
    solution = create_solution(ctx, arns["group"], "det", "aws-user-personalization")
    first, second = train(ctx, solution), train(ctx, solution)
    assert first["artifact"] == second["artifact"]
    assert first["metrics"] == second["metrics"]


def test_too_little_data_fails_with_aws_messages(tmp_path: Path) -> None:
    ctx = make(tmp_path, min_interactions=100_000)
    arns = make_group(ctx, "g")
    version = train(ctx, create_solution(ctx, arns["group"], "s", "aws-sims"))
    assert version["status"] == lifecycle.CREATE_FAILED
    assert version["failureReason"] == "Dataset has fewer than 100000 interactions."

    ctx = make(tmp_path / "b", min_users_with_two=10_000)
    arns = make_group(ctx, "g")
    version = train(ctx, create_solution(ctx, arns["group"], "s", "aws-sims"))
    assert version["failureReason"] == (
        "Create failed. Dataset has fewer than 10000 users with at least 2 interactions each."
    )


def test_event_type_filtering(fresh: tuple[Context, dict[str, str]]) -> None:
    ctx, arns = fresh
    version = train(
        ctx, create_solution(ctx, arns["group"], "none", "aws-sims", eventType="purchase")
    )
    assert version["status"] == lifecycle.CREATE_FAILED
    assert version["failureReason"] == (
        "Dataset has fewer than 100 interactions after filtering by event type: purchase"
    )
    # Matched case-insensitively ("watch" events are stored as "watch").
    version = train(ctx, create_solution(ctx, arns["group"], "w", "aws-sims", eventType="WATCH"))
    assert version["status"] == lifecycle.ACTIVE
    model = load_model(ctx.data_dir / version["artifact"])
    all_events = train(ctx, create_solution(ctx, arns["group"], "all", "aws-sims"))
    # Only the users with a watch event are trained on: fewer than on every event.
    interactions = ctx.records.read(arns["Interactions"]).to_pydict()
    watchers = {
        str(user)
        for user, event_type in zip(
            interactions["USER_ID"], interactions["EVENT_TYPE"], strict=True
        )
        if event_type.lower() == "watch"
    }
    all_users = set(load_model(ctx.data_dir / all_events["artifact"]).users.ids())
    assert set(model.users.ids()) == watchers < all_users


def test_event_value_threshold_and_events_config(fresh: tuple[Context, dict[str, str]]) -> None:
    ctx, arns = fresh
    version = train(
        ctx,
        create_solution(
            ctx,
            arns["group"],
            "thr",
            "aws-sims",
            eventType="watch",
            solutionConfig={"eventValueThreshold": "1000000"},
        ),
    )
    assert "after filtering by event type: watch" in version["failureReason"]
    version = train(
        ctx,
        create_solution(
            ctx,
            arns["group"],
            "weights",
            "aws-user-personalization-v2",
            solutionConfig={
                "eventsConfig": {
                    "eventParametersList": [
                        {"eventType": "click", "weight": 0.1},
                        {"eventType": "watch", "weight": 0.3},
                    ]
                }
            },
        ),
    )
    assert version["status"] == lifecycle.ACTIVE
    assert "normalized_discounted_cumulative_gain_with_event_weights_at_k" in version["metrics"]


@pytest.mark.parametrize(
    "recipe", ["aws-similar-items", "aws-item-attribute-affinity", "aws-semantic-similarity"]
)
def test_recipes_that_need_items_fail_without_them(tmp_path: Path, recipe: str) -> None:
    ctx = make(tmp_path)
    arns = make_group(ctx, "g", with_items=False)
    version = train(ctx, create_solution(ctx, arns["group"], "s", recipe))
    assert version["status"] == lifecycle.CREATE_FAILED
    assert version["failureReason"].startswith(f"Recipe {recipe} needs an Items dataset")


def test_bad_hyperparameters_are_refused_at_create_solution(
    shared: tuple[Context, dict[str, str]],
) -> None:
    ctx, arns = shared
    with pytest.raises(InvalidInputException, match="Unknown hyperparameter 'depth'"):
        create_solution(
            ctx,
            arns["group"],
            "bad",
            "aws-user-personalization",
            solutionConfig={"algorithmHyperParameters": {"depth": "3"}},
        )
    with pytest.raises(InvalidInputException, match=r"must be within \[32, 256\]"):
        create_solution(
            ctx,
            arns["group"],
            "bad",
            "aws-user-personalization",
            solutionConfig={"algorithmHyperParameters": {"hidden_dimension": "1000"}},
        )


def _hpo_config(jobs: str = "3") -> dict[str, Any]:
    return {
        "hpoConfig": {
            "hpoResourceConfig": {"maxNumberOfTrainingJobs": jobs, "maxParallelTrainingJobs": "1"},
            "algorithmHyperParameterRanges": {
                "integerHyperParameterRanges": [
                    {"name": "min_cointeraction_count", "minValue": 0, "maxValue": 6}
                ],
                "continuousHyperParameterRanges": [
                    {"name": "popularity_discount_factor", "minValue": 0.1, "maxValue": 0.9}
                ],
                "categoricalHyperParameterRanges": [],
            },
        }
    }


def test_hpo_tunes_on_training_users_only(
    fresh: tuple[Context, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, arns = fresh
    seen: list[HeldOutUsers] = []
    original = training.ranking_model_metrics

    def spy(model: Any, test: HeldOutUsers, n_items: int, *args: Any) -> dict[str, float]:
        seen.append(test)
        return original(model, test, n_items, *args)

    monkeypatch.setattr(training, "ranking_model_metrics", spy)
    solution = create_solution(
        ctx, arns["group"], "hpo", "aws-sims", performHPO=True, solutionConfig=_hpo_config()
    )
    version = train(ctx, solution)
    assert version["status"] == lifecycle.ACTIVE, version.get("failureReason")
    tuned = version["tunedHPOParams"]["algorithmHyperParameters"]
    assert 0 <= int(tuned["min_cointeraction_count"]) <= 6
    assert 0.1 <= float(tuned["popularity_discount_factor"]) <= 0.9
    # Three validation trials, then the test users once; the two sets of users never meet.
    assert len(seen) == 4
    test_users = set(seen[-1].user_idx.tolist())
    for trial in seen[:-1]:
        assert test_users.isdisjoint(trial.user_idx.tolist())


def test_automl_picks_a_recipe_and_reports_it(fresh: tuple[Context, dict[str, str]]) -> None:
    ctx, arns = fresh
    recipes = [
        "arn:aws:personalize:::recipe/aws-popularity-count",
        "arn:aws:personalize:::recipe/aws-user-personalization",
    ]
    solution = call(
        ctx,
        "CreateSolution",
        name="automl",
        datasetGroupArn=arns["group"],
        performAutoML=True,
        solutionConfig={"autoMLConfig": {"metricName": "precision_at_25", "recipeList": recipes}},
    )["solutionArn"]
    version = train(ctx, solution)
    assert version["status"] == lifecycle.ACTIVE, version.get("failureReason")
    best = ctx.store.get(solution).body["autoMLResult"]["bestRecipeArn"]
    assert best in recipes
    assert version["recipeArn"] == best
    # Personalization beats popularity on data with taste clusters.
    assert best.endswith("aws-user-personalization")


def test_stop_while_pending_and_while_training(
    fresh: tuple[Context, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, arns = fresh
    solution = create_solution(ctx, arns["group"], "stop", "aws-sims")
    arn = call(ctx, "CreateSolutionVersion", solutionArn=solution)["solutionVersionArn"]
    call(ctx, "StopSolutionVersionCreation", solutionVersionArn=arn)
    run_jobs(ctx)
    assert ctx.store.get(arn).status == lifecycle.CREATE_STOPPED
    assert "artifact" not in ctx.store.get(arn).body

    original = training.read_group

    def stop_then_read(ctx: Context, *args: Any) -> Any:
        call(ctx, "StopSolutionVersionCreation", solutionVersionArn=running)
        assert ctx.store.get(running).status == lifecycle.CREATE_STOPPING
        return original(ctx, *args)

    monkeypatch.setattr(training, "read_group", stop_then_read)
    running = call(ctx, "CreateSolutionVersion", solutionArn=solution)["solutionVersionArn"]
    run_jobs(ctx)
    assert ctx.store.get(running).status == lifecycle.CREATE_STOPPED


def test_solution_versions_in_flight_are_capped_by_the_setting(tmp_path: Path) -> None:
    # Personalize: 20 pending / in-progress solution versions per region (adjustable).
    assert load_config({}, environ={}).max_pending_solution_versions == 20
    environ = {"OPENPERSONALIZE_MAX_PENDING_SOLUTION_VERSIONS": "2"}
    assert load_config({}, environ=environ).max_pending_solution_versions == 2
    ctx = make(tmp_path, max_pending_solution_versions=2)
    arns = make_group(ctx, "cap", with_items=False, with_users=False)
    solution = create_solution(ctx, arns["group"], "cap", "aws-sims")
    first = call(ctx, "CreateSolutionVersion", solutionArn=solution)["solutionVersionArn"]
    call(ctx, "CreateSolutionVersion", solutionArn=solution)
    with pytest.raises(LimitExceededException) as info:
        call(ctx, "CreateSolutionVersion", solutionArn=solution)
    assert info.value.code == "LimitExceededException"
    assert info.value.message == "More than 2 resources with PENDING or IN_PROGRESS status."
    # A stopped version is no longer in flight: its slot is free again.
    call(ctx, "StopSolutionVersionCreation", solutionVersionArn=first)
    call(ctx, "CreateSolutionVersion", solutionArn=solution)
    with pytest.raises(LimitExceededException):
        call(ctx, "CreateSolutionVersion", solutionArn=solution)


def test_update_mode_refreshes_without_search(fresh: tuple[Context, dict[str, str]]) -> None:
    ctx, arns = fresh
    solution = create_solution(ctx, arns["group"], "up", "aws-user-personalization")
    with pytest.raises(InvalidInputException, match="needs an ACTIVE solution version"):
        call(ctx, "CreateSolutionVersion", solutionArn=solution, trainingMode="UPDATE")
    full = train(ctx, solution)
    update = train(ctx, solution, trainingMode="UPDATE")
    assert update["status"] == lifecycle.ACTIVE
    assert update["trainingMode"] == "UPDATE"
    assert update["metrics"] == full["metrics"]
    load_model(ctx.data_dir / update["artifact"])


def test_semantic_similarity_update_embeds_only_new_items(
    fresh: tuple[Context, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpersonalize.engine.recipes import semantic_similarity

    ctx, arns = fresh
    solution = create_solution(ctx, arns["group"], "sem", "aws-semantic-similarity")
    full = train(ctx, solution)
    assert full["status"] == lifecycle.ACTIVE, full.get("failureReason")
    items = ctx.records.read(arns["Items"])
    new_row = items.slice(0, 1).set_column(0, "ITEM_ID", pa.array(["brand-new-item"]))
    ctx.records.append(arns["Items"], new_row, "ITEM_ID")
    embedded: list[int] = []
    encoder = semantic_similarity.load_encoder()

    def counting(texts: list[str]) -> np.ndarray:
        embedded.append(len(texts))
        return encoder(texts)

    monkeypatch.setattr(semantic_similarity, "load_encoder", lambda: counting)
    update = train(ctx, solution, trainingMode="UPDATE")
    assert update["status"] == lifecycle.ACTIVE, update.get("failureReason")
    assert embedded == [1]
    assert "brand-new-item" in load_model(ctx.data_dir / update["artifact"]).items


def test_export_model_command(shared: tuple[Context, dict[str, str]], tmp_path: Path) -> None:
    ctx, arns = shared
    solution = create_solution(ctx, arns["group"], "export", "aws-sims")
    version = train(ctx, solution)
    out = tmp_path / "export"
    result = CliRunner().invoke(
        main, ["export-model", version["arn"], str(out), "--data-dir", str(ctx.data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file()
    assert (out / "items.parquet").is_file()
    missing = CliRunner().invoke(
        main, ["export-model", version["arn"] + "x", str(out), "--data-dir", str(ctx.data_dir)]
    )
    assert missing.exit_code != 0
    assert "does not exist" in missing.output
    call(ctx, "DeleteSolution", solutionArn=solution)
