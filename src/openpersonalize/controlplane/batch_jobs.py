"""Batch inference and batch segment jobs over a trained solution version."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import campaigns, catalog, common, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import InvalidInputException, LimitExceededException

INFERENCE = "batch-inference-job"
SEGMENT = "batch-segment-job"
MAX_INFERENCE_RESULTS = 500  # as GetRecommendations
MAX_SEGMENT_USERS = 5_000_000  # users per segment (spec §1.18)


def _create(ctx: Context, params: dict[str, Any], kind: str, arn_key: str) -> tuple[str, Any]:
    version = common.require(ctx, params["solutionVersionArn"], "solution-version")
    recipe = catalog.recipe_from_arn(ctx, version.body["recipeArn"])
    if kind == SEGMENT and recipe.recipe_type != "USER_SEGMENTATION":
        raise InvalidInputException(
            f"Batch segment jobs need a USER_SEGMENTATION recipe; {recipe.name} is "
            f"{recipe.recipe_type}."
        )
    if kind == INFERENCE and (
        recipe.recipe_type in ("USER_SEGMENTATION", "PERSONALIZED_ACTIONS")
        or recipe.name == "aws-trending-now"
    ):
        raise InvalidInputException(f"Batch inference is not supported for {recipe.name}.")
    if params.get("filterArn"):
        common.require(ctx, params["filterArn"], "filter")
    for key in ("jobInput", "jobOutput"):
        source = params[key].get("s3DataSource") or params[key].get("s3DataDestination") or {}
        if str(source.get("path", "")).startswith(("http://", "https://")):
            raise InvalidInputException(f"{key} path must be s3://, file:// or a local path.")
    num_results = params.get("numResults")
    limit = MAX_SEGMENT_USERS if kind == SEGMENT else MAX_INFERENCE_RESULTS
    if num_results is not None and not 1 <= int(num_results) <= limit:
        raise InvalidInputException(f"numResults must be between 1 and {limit}, got {num_results}.")
    in_flight = ctx.store.count(kind, statuses=lifecycle.IN_FLIGHT)
    max_pending = (
        ctx.config.max_pending_batch_segment_jobs
        if kind == SEGMENT
        else ctx.config.max_pending_batch_inference_jobs
    )
    if in_flight >= max_pending:
        raise LimitExceededException(
            f"More than {max_pending} resources with PENDING or IN_PROGRESS status."
        )
    name = params["jobName"]
    arn = ctx.arns.make(kind, name)
    body: dict[str, Any] = {
        "jobName": name,
        arn_key: arn,
        "filterArn": params.get("filterArn"),
        "solutionVersionArn": version.arn,
        "numResults": params.get("numResults", 25),
        "jobInput": params["jobInput"],
        "jobOutput": params["jobOutput"],
        "roleArn": params["roleArn"],
    }
    if kind == INFERENCE:
        config = params.get("batchInferenceJobConfig") or {}
        campaigns.check_exploration(config)
        body["batchInferenceJobConfig"] = config
        body["batchInferenceJobMode"] = params.get("batchInferenceJobMode") or "BATCH_INFERENCE"
        if body["batchInferenceJobMode"] == "THEME_GENERATION":
            if recipe.name != "aws-similar-items":
                raise InvalidInputException("THEME_GENERATION needs the aws-similar-items recipe.")
            body["themeGenerationConfig"] = params.get("themeGenerationConfig")
    common.create_job(
        ctx, kind=kind, arn=arn, name=name, body=body, under=version, tags=params.get("tags")
    )
    return arn, version


@operation("CreateBatchInferenceJob")
def create_batch_inference_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn, _ = _create(ctx, params, INFERENCE, "batchInferenceJobArn")
    return {"batchInferenceJobArn": arn}


@operation("DescribeBatchInferenceJob")
def describe_batch_inference_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"batchInferenceJob": common.describe(ctx, params["batchInferenceJobArn"], INFERENCE)}


@operation("ListBatchInferenceJobs")
def list_batch_inference_jobs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, INFERENCE, "batchInferenceJobs", parent=params.get("solutionVersionArn")
    )


@operation("CreateBatchSegmentJob")
def create_batch_segment_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn, _ = _create(ctx, params, SEGMENT, "batchSegmentJobArn")
    return {"batchSegmentJobArn": arn}


@operation("DescribeBatchSegmentJob")
def describe_batch_segment_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"batchSegmentJob": common.describe(ctx, params["batchSegmentJobArn"], SEGMENT)}


@operation("ListBatchSegmentJobs")
def list_batch_segment_jobs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, SEGMENT, "batchSegmentJobs", parent=params.get("solutionVersionArn")
    )
