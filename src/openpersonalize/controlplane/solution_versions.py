"""Solution versions: trained models. Training runs in job workers."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import catalog, common, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import (
    InvalidInputException,
    LimitExceededException,
    ResourceInUseException,
)

KIND = "solution-version"
UPDATE_RECIPES = (
    "aws-user-personalization",
    "aws-user-personalization-v2",
    "aws-semantic-similarity",
)


def create_version(
    ctx: Context,
    solution: Any,
    training_mode: str,
    training_type: str,
    name: str | None = None,
    tags: list[dict[str, str]] | None = None,
) -> str:
    recipe = catalog.recipe_from_arn(ctx, solution.body["recipeArn"])
    if training_mode == "UPDATE":
        if recipe.name not in UPDATE_RECIPES:
            raise InvalidInputException(
                f"trainingMode UPDATE is not supported by {recipe.name}; use FULL."
            )
        full = [
            v
            for v in ctx.store.select(KIND, parent=solution.arn)
            if v.status == lifecycle.ACTIVE and v.body.get("trainingMode") == "FULL"
        ]
        if not full:
            raise InvalidInputException(
                "trainingMode UPDATE needs an ACTIVE solution version trained with FULL."
            )
    in_flight = sum(
        1
        for v in ctx.store.select(KIND)
        if v.status in lifecycle.IN_FLIGHT and v.deleted_at is None
    )
    limit = ctx.config.max_pending_solution_versions
    if in_flight >= limit:
        raise LimitExceededException(
            f"More than {limit} resources with PENDING or IN_PROGRESS status."
        )
    version_id = common.new_id()
    arn = ctx.arns.solution_version(solution.name, version_id)
    body = {
        "name": name or version_id,
        "solutionVersionArn": arn,
        "solutionArn": solution.arn,
        "performHPO": solution.body.get("performHPO"),
        "performAutoML": solution.body.get("performAutoML"),
        "performIncrementalUpdate": solution.body.get("performIncrementalUpdate"),
        "recipeArn": solution.body["recipeArn"],
        "eventType": solution.body.get("eventType"),
        "datasetGroupArn": solution.dataset_group,
        "solutionConfig": solution.body.get("solutionConfig"),
        "trainingMode": training_mode,
        "trainingType": training_type,
    }
    # Names need not be unique across versions: the ARN stands in for the unique name.
    common.create_job(ctx, kind=KIND, arn=arn, name=arn, body=body, under=solution, tags=tags)
    return arn


@operation("CreateSolutionVersion")
def create_solution_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    solution = common.require(ctx, params["solutionArn"], "solution")
    arn = create_version(
        ctx,
        solution,
        params.get("trainingMode") or "FULL",
        "MANUAL",
        params.get("name"),
        params.get("tags"),
    )
    return {"solutionVersionArn": arn}


@operation("DescribeSolutionVersion")
def describe_solution_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"solutionVersion": common.describe(ctx, params["solutionVersionArn"], KIND)}


@operation("ListSolutionVersions")
def list_solution_versions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    solution_arn = params.get("solutionArn")
    if solution_arn:
        common.get(ctx, solution_arn, "solution")
    return common.list_page(ctx, params, KIND, "solutionVersions", parent=solution_arn)


@operation("StopSolutionVersionCreation")
def stop_solution_version_creation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    version = common.get(ctx, params["solutionVersionArn"], KIND)
    if version.status == lifecycle.CREATE_PENDING:
        ctx.store.update(version.arn, status=lifecycle.CREATE_STOPPED)
    elif version.status == lifecycle.CREATE_IN_PROGRESS:
        ctx.store.update(version.arn, status=lifecycle.CREATE_STOPPING)
    else:
        raise ResourceInUseException(
            f"Solution version {version.arn} is {version.status}; only CREATE PENDING or "
            "CREATE IN_PROGRESS versions can be stopped."
        )
    return {}


@operation("GetSolutionMetrics")
def get_solution_metrics(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    version = common.get(ctx, params["solutionVersionArn"], KIND)
    if version.status != lifecycle.ACTIVE:
        raise ResourceInUseException(
            f"Solution version {version.arn} is {version.status}; metrics exist once it is ACTIVE."
        )
    return {"solutionVersionArn": version.arn, "metrics": version.body.get("metrics", {})}
