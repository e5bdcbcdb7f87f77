"""Domain recommender jobs and the scheduled trainings (auto-training, recommender retraining)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.engine.artifacts import load_model
from openpersonalize.jobs import autotrain
from openpersonalize.jobs.use_cases import USE_CASES
from tests.unit.jobs.training_fixtures import call, create_solution, make, make_group, run_jobs

DOMAINS = {"ECOMMERCE": "ecommerce", "VIDEO_ON_DEMAND": "video_on_demand"}


@pytest.fixture(scope="module")
def domain_groups(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, dict[str, str]]:
    ctx = make(tmp_path_factory.mktemp("domains"))
    groups = {
        domain: make_group(
            ctx, domain.lower().replace("_", "-"), preset, domain=domain, n_interactions=4000
        )["group"]
        for domain, preset in DOMAINS.items()
    }
    return ctx, groups


def recommender(ctx: Context, group: str, use_case: str, name: str) -> str:
    arn: str = call(
        ctx,
        "CreateRecommender",
        name=name,
        datasetGroupArn=group,
        recipeArn=f"arn:aws:personalize:::recipe/{use_case}",
    )["recommenderArn"]
    run_jobs(ctx)
    return arn


@pytest.mark.parametrize("use_case", sorted(USE_CASES))
def test_every_use_case_trains(
    domain_groups: tuple[Context, dict[str, str]], use_case: str
) -> None:
    ctx, groups = domain_groups
    group = groups["ECOMMERCE" if use_case.startswith("aws-ecomm") else "VIDEO_ON_DEMAND"]
    arn = recommender(ctx, group, use_case, use_case.removeprefix("aws-"))
    resource = ctx.store.get(arn)
    assert resource.status == lifecycle.ACTIVE, resource.body.get("failureReason")
    case = USE_CASES[use_case]
    assert load_model(ctx.data_dir / resource.body["artifact"]).recipe_name == case.recipe
    assert set(resource.body["modelMetrics"]) >= {"coverage", "precision_at_25"}
    assert resource.body["useCase"]["excludedEventTypes"] == list(case.exclude_event_types)
    described = call(ctx, "DescribeRecommender", recommenderArn=arn)["recommender"]
    assert described["modelMetrics"] == resource.body["modelMetrics"]
    call(ctx, "DeleteRecommender", recommenderArn=arn)


def test_use_case_event_minimum(tmp_path: Path) -> None:
    ctx = make(tmp_path, min_interactions=3000)
    group = make_group(ctx, "vod", "video_on_demand", domain="VIDEO_ON_DEMAND", n_interactions=4000)
    arn = recommender(ctx, group["group"], "aws-vod-most-popular", "popular")
    resource = ctx.store.get(arn)
    assert resource.status == lifecycle.CREATE_FAILED
    assert resource.body["failureReason"] == (
        "Dataset has fewer than 3000 interactions after filtering by event type: Watch"
    )


def test_more_like_x_needs_items(tmp_path: Path) -> None:
    ctx = make(tmp_path)
    group = make_group(ctx, "vod", "video_on_demand", domain="VIDEO_ON_DEMAND", with_items=False)
    arn = recommender(ctx, group["group"], "aws-vod-more-like-x", "more")
    assert "needs an Items dataset" in ctx.store.get(arn).body["failureReason"]


def test_update_recommender_retrains_with_new_config(tmp_path: Path) -> None:
    ctx = make(tmp_path)
    group = make_group(ctx, "shop", "ecommerce", domain="ECOMMERCE")
    arn = recommender(ctx, group["group"], "aws-ecomm-recommended-for-you", "rfy")
    columns = {"excludedDatasetColumns": {"ITEMS": ["PRICE"]}}
    call(
        ctx,
        "UpdateRecommender",
        recommenderArn=arn,
        recommenderConfig={"trainingDataConfig": columns},
    )
    pending = ctx.store.get(arn)
    assert pending.body["latestRecommenderUpdate"]["status"] == lifecycle.CREATE_PENDING
    run_jobs(ctx)
    done = ctx.store.get(arn)
    assert done.status == lifecycle.ACTIVE
    assert done.body["latestRecommenderUpdate"]["status"] == lifecycle.ACTIVE
    assert done.body["recommenderConfig"]["trainingDataConfig"] == columns


def test_scheduled_recommender_retraining(tmp_path: Path) -> None:
    ctx = make(
        tmp_path, recommender_full_retrain_seconds=100.0, recommender_new_item_update_seconds=10.0
    )
    group = make_group(ctx, "shop", "ecommerce", domain="ECOMMERCE")
    rfy = recommender(ctx, group["group"], "aws-ecomm-recommended-for-you", "rfy")
    views = recommender(ctx, group["group"], "aws-ecomm-popular-items-by-views", "views")
    start = ctx.store.get(rfy).body["lastTrainingDateTime"]
    # Nothing changed: nothing is queued, the clocks just move on.
    assert autotrain.run_recommender_retraining(ctx, start + 20) == []
    items = ctx.records.read(group["Items"])
    new_item = items.slice(0, 1).set_column(0, "ITEM_ID", pa.array(["new-item"]))
    ctx.records.append(group["Items"], new_item, "ITEM_ID")
    assert autotrain.run_recommender_retraining(ctx, start + 40) == [rfy]  # 2-hourly kind only
    run_jobs(ctx)
    refreshed = ctx.store.get(rfy).body
    assert "new-item" in load_model(ctx.data_dir / refreshed["artifact"]).items
    trained_at = ctx.store.get(views).body["lastFullTrainingDateTime"]
    assert autotrain.run_recommender_retraining(ctx, start + 200) == [views]  # weekly full
    run_jobs(ctx)
    retrained = ctx.store.get(views).body
    assert retrained["lastFullTrainingDateTime"] > trained_at  # trained again…
    assert "lastRetrainingFailure" not in retrained  # … and it worked (a failure is stamped too)


def test_auto_training_follows_schedule_and_new_data(tmp_path: Path) -> None:
    ctx = make(tmp_path, auto_training_day_seconds=240.0)
    group = make_group(ctx, "g")
    solution = create_solution(
        ctx,
        group["group"],
        "auto",
        "aws-sims",
        solutionConfig={"autoTrainingConfig": {"schedulingExpression": "rate(2 days)"}},
    )
    created = ctx.store.get(solution).created
    assert autotrain.run_auto_training(ctx, created + 5) == []  # within the first "hour"
    first = autotrain.run_auto_training(ctx, created + 11)
    assert len(first) == 1
    run_jobs(ctx)
    version = ctx.store.get(first[0])
    assert version.status == lifecycle.ACTIVE
    assert version.body["trainingMode"] == "AUTOTRAIN"
    assert version.body["trainingType"] == "AUTOMATIC"
    assert autotrain.run_auto_training(ctx, version.created + 100) == []  # schedule not due
    assert autotrain.run_auto_training(ctx, version.created + 500) == []  # due, but no new data
    interactions = ctx.records.read(group["Interactions"]).slice(0, 10)
    ctx.records.append(group["Interactions"], interactions)
    assert len(autotrain.run_auto_training(ctx, version.created + 500)) == 1
    call(ctx, "UpdateSolution", solutionArn=solution, performAutoTraining=False)
    run_jobs(ctx)
    ctx.records.append(group["Interactions"], interactions)
    assert autotrain.run_auto_training(ctx, version.created + 5000) == []
