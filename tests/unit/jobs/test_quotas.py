"""Quotas as settings: AWS's values by default, LimitExceededException at the configured limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openpersonalize.controlplane import lifecycle
from openpersonalize.errors import LimitExceededException
from openpersonalize.jobs import worker
from openpersonalize.settings import load_config
from tests.schemas import BASIC_INTERACTIONS
from tests.unit.jobs.training_fixtures import call, create_solution, make, make_group, train


@pytest.mark.parametrize(
    ("recipe", "operation", "arn_key", "setting"),
    [
        (
            "aws-sims",
            "CreateBatchInferenceJob",
            "batchInferenceJobArn",
            "max_pending_batch_inference_jobs",
        ),
        (
            "aws-item-affinity",
            "CreateBatchSegmentJob",
            "batchSegmentJobArn",
            "max_pending_batch_segment_jobs",
        ),
    ],
)
def test_batch_jobs_in_flight_are_capped_by_the_setting(
    tmp_path: Path, recipe: str, operation: str, arn_key: str, setting: str
) -> None:
    # Personalize: 5 pending / in-progress batch inference (and batch segment) jobs per region.
    assert getattr(load_config({}, environ={}), setting) == 5
    environ = {"OPENPERSONALIZE_" + setting.upper(): "2"}
    assert getattr(load_config({}, environ=environ), setting) == 2
    ctx = make(tmp_path / "data", **{setting: 2})
    arns = make_group(ctx, "cap", with_users=False)
    version = train(ctx, create_solution(ctx, arns["group"], "cap", recipe))
    assert version["status"] == lifecycle.ACTIVE, version.get("failureReason")
    item_id = ctx.records.read(arns["Interactions"]).column("ITEM_ID")[0].as_py()
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"itemId": item_id}) + "\n")

    def create(name: str) -> str:
        arn: str = call(
            ctx,
            operation,
            jobName=name,
            solutionVersionArn=version["arn"],
            jobInput={"s3DataSource": {"path": str(source)}},
            jobOutput={"s3DataDestination": {"path": str(tmp_path / name) + "/"}},
            roleArn="arn:aws:iam::123456789012:role/batch",
        )[arn_key]
        return arn

    first, _ = create("first"), create("second")
    with pytest.raises(LimitExceededException) as info:
        create("third")
    assert info.value.code == "LimitExceededException"
    assert info.value.message == "More than 2 resources with PENDING or IN_PROGRESS status."
    # The oldest job runs to the end: its slot is free again, and only its slot.
    assert worker.run_one(ctx, "test-worker")
    assert ctx.store.get(first).status == lifecycle.ACTIVE, ctx.store.get(first).body
    create("third")
    with pytest.raises(LimitExceededException):
        create("fourth")


def test_pending_data_deletion_jobs_are_capped_per_dataset_group(tmp_path: Path) -> None:
    # Personalize: 5 PENDING data deletion jobs per dataset group.
    assert load_config({}, environ={}).max_pending_data_deletion_jobs == 5
    ctx = make(tmp_path, max_pending_data_deletion_jobs=1)
    groups = [call(ctx, "CreateDatasetGroup", name=n)["datasetGroupArn"] for n in ("a", "b")]

    def create(name: str, group: str) -> None:
        call(
            ctx,
            "CreateDataDeletionJob",
            jobName=name,
            datasetGroupArn=group,
            dataSource={"dataLocation": str(tmp_path / "users.csv")},
            roleArn="arn:aws:iam::123456789012:role/delete",
        )

    create("a-1", groups[0])
    with pytest.raises(LimitExceededException) as info:
        create("a-2", groups[0])
    assert info.value.message == "More than 1 resources with PENDING status."
    create("b-1", groups[1])


def test_recommenders_are_capped_per_dataset_group(tmp_path: Path) -> None:
    # Personalize: 5 recommenders per dataset group.
    assert load_config({}, environ={}).max_recommenders_per_dataset_group == 5
    ctx = make(tmp_path, max_recommenders_per_dataset_group=1)
    group = call(ctx, "CreateDatasetGroup", name="vod", domain="VIDEO_ON_DEMAND")["datasetGroupArn"]

    def create(name: str) -> None:
        call(
            ctx,
            "CreateRecommender",
            name=name,
            datasetGroupArn=group,
            recipeArn="arn:aws:personalize:::recipe/aws-vod-most-popular",
        )

    create("first")
    with pytest.raises(LimitExceededException) as info:
        create("second")
    assert info.value.message == f"More than 1 recommenders in dataset group {group}."


def test_schemas_are_capped_by_the_setting(tmp_path: Path) -> None:
    # Personalize: 500 schemas per region.
    assert load_config({}, environ={}).max_schemas == 500
    ctx = make(tmp_path, max_schemas=2)
    call(ctx, "CreateSchema", name="s1", schema=BASIC_INTERACTIONS)
    call(ctx, "CreateSchema", name="s2", schema=BASIC_INTERACTIONS)
    with pytest.raises(LimitExceededException) as info:
        call(ctx, "CreateSchema", name="s3", schema=BASIC_INTERACTIONS)
    assert info.value.message == "More than 2 schemas."
