"""Solutions: a recipe plus its configuration, trained into solution versions."""

from __future__ import annotations

import json
import re
from typing import Any

from openpersonalize.controlplane import catalog, common, dataset_records, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import InvalidInputException, ResourceInUseException

KIND = "solution"
_RATE = re.compile(r"^rate\((\d+) days?\)$")


def check_schedule(expression: str) -> None:
    match = _RATE.match(expression)
    if not match or not 1 <= int(match.group(1)) <= 30:
        raise InvalidInputException(
            f"Invalid schedulingExpression {expression!r}: use rate(N days) with N from 1 to 30."
        )


def _check_config(recipe: catalog.Recipe, config: dict[str, Any], perform_hpo: bool) -> None:
    from openpersonalize.engine import hyperparameters

    hyperparameters.validate(
        recipe.name,
        config.get("algorithmHyperParameters") or {},
        config.get("featureTransformationParameters") or {},
    )
    if perform_hpo:
        hpo = config.get("hpoConfig") or {}
        hyperparameters.validate_hpo_config(recipe.name, hpo)
    schedule = (config.get("autoTrainingConfig") or {}).get("schedulingExpression")
    if schedule:
        check_schedule(schedule)
    events = (config.get("eventsConfig") or {}).get("eventParametersList")
    if events and recipe.name not in ("aws-user-personalization-v2", "aws-personalized-ranking-v2"):
        raise InvalidInputException(
            "eventsConfig is only supported by aws-user-personalization-v2 and "
            "aws-personalized-ranking-v2."
        )


def _items_schema(ctx: Context, group_arn: str) -> dict[str, Any] | None:
    """The parsed Avro schema of the group's Items dataset (None when it has none yet)."""
    for dataset in dataset_records.datasets_of_group(ctx, group_arn):
        if dataset.body.get("datasetType") == "Items":
            schema: dict[str, Any] = json.loads(
                ctx.store.get(str(dataset.body["schemaArn"])).body["schema"]
            )
            return schema
    return None


def _check_objective(
    ctx: Context, group_arn: str, recipe: catalog.Recipe, config: dict[str, Any]
) -> None:
    """optimizationObjective: a recipe that supports it and, when the group already has an
    Items dataset, a numeric non-nullable column of it (else training checks and fails)."""
    from openpersonalize.engine.objective import (
        ObjectiveError,
        check_items_schema,
        check_recipe,
        parse_objective,
    )

    try:
        objective = parse_objective(config)
        if objective is None:
            return
        check_recipe(objective, recipe.name)
        schema = _items_schema(ctx, group_arn)
        if schema is not None:
            check_items_schema(objective, schema)
    except ObjectiveError as exc:
        raise InvalidInputException(exc.message) from None


@operation("CreateSolution")
def create_solution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = common.require(ctx, params["datasetGroupArn"], "dataset-group")
    config: dict[str, Any] = params.get("solutionConfig") or {}
    perform_automl = bool(params.get("performAutoML", False))
    perform_hpo = bool(params.get("performHPO", False))
    recipe_arn = params.get("recipeArn")
    if recipe_arn:
        recipe = catalog.recipe_from_arn(ctx, recipe_arn)
    elif perform_automl:
        recipe_list = (config.get("autoMLConfig") or {}).get("recipeList") or [
            ctx.arns.global_arn("recipe", "aws-user-personalization")
        ]
        recipe = catalog.recipe_from_arn(ctx, recipe_list[0])
    else:
        raise InvalidInputException("recipeArn is required unless performAutoML is true.")
    if recipe.domain:
        raise InvalidInputException(
            f"Recipe {recipe.name} is a domain use case: use CreateRecommender, not CreateSolution."
        )
    if recipe.legacy:
        raise InvalidInputException(f"Recipe {recipe.name} is no longer available.")
    if params.get("performIncrementalUpdate") and recipe.name != "aws-semantic-similarity":
        raise InvalidInputException(
            "performIncrementalUpdate is only supported by aws-semantic-similarity."
        )
    for arn in (config.get("autoMLConfig") or {}).get("recipeList") or []:
        catalog.recipe_from_arn(ctx, arn)
    _check_config(recipe, config, perform_hpo)
    if not perform_automl:
        _check_objective(ctx, group.arn, recipe, config)
    common.check_quota(
        len(common.live(ctx.store.select(KIND, dataset_group=group.arn))),
        ctx.config.max_active_solutions_per_dataset_group,
        f"More than {ctx.config.max_active_solutions_per_dataset_group} resources in ACTIVE state.",
    )
    name = params["name"]
    arn = ctx.arns.make(KIND, name)
    auto_training = params.get("performAutoTraining")
    body: dict[str, Any] = {
        "name": name,
        "solutionArn": arn,
        "performHPO": perform_hpo,
        "performAutoML": perform_automl,
        "performAutoTraining": True if auto_training is None else bool(auto_training),
        "performIncrementalUpdate": params.get("performIncrementalUpdate"),
        "recipeArn": recipe_arn or ctx.arns.global_arn("recipe", recipe.name),
        "datasetGroupArn": group.arn,
        "eventType": params.get("eventType"),
        "solutionConfig": config,
    }
    common.create(
        ctx,
        kind=KIND,
        arn=arn,
        name=name,
        body=body,
        under=group,
        tags=params.get("tags"),
    )
    return {"solutionArn": arn}


def view(ctx: Context, resource: Any) -> dict[str, Any]:
    out = common.render(resource)
    versions = common.live(ctx.store.select("solution-version", parent=resource.arn))
    if versions:
        latest = versions[0]
        out["latestSolutionVersion"] = {
            **common.render(latest),
            "solutionVersionArn": latest.arn,
        }
    return out


@operation("DescribeSolution")
def describe_solution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    resource = common.get(ctx, params["solutionArn"], KIND)
    common.describe(ctx, resource.arn, KIND)
    return {"solution": view(ctx, resource)}


@operation("ListSolutions")
def list_solutions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, KIND, "solutions", dataset_group=params.get("datasetGroupArn")
    )


@operation("UpdateSolution")
def update_solution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    solution = common.get(ctx, params["solutionArn"], KIND)
    if solution.status != lifecycle.ACTIVE:
        raise ResourceInUseException(f"Solution {solution.arn} is {solution.status}.")
    update = params.get("solutionUpdateConfig") or {}
    changes: dict[str, Any] = {}
    config = dict(solution.body.get("solutionConfig") or {})
    schedule = (update.get("autoTrainingConfig") or {}).get("schedulingExpression")
    if schedule:
        check_schedule(schedule)
        config["autoTrainingConfig"] = update["autoTrainingConfig"]
    if update.get("eventsConfig"):
        config["eventsConfig"] = update["eventsConfig"]
    if "performAutoTraining" in params:
        changes["performAutoTraining"] = bool(params["performAutoTraining"])
    if "performIncrementalUpdate" in params:
        changes["performIncrementalUpdate"] = bool(params["performIncrementalUpdate"])
    if not changes and config == solution.body.get("solutionConfig"):
        raise InvalidInputException("The update does not change anything.")
    now = ctx.now()
    changes["solutionConfig"] = config
    changes["latestSolutionUpdate"] = {
        "solutionUpdateConfig": update,
        "status": lifecycle.ACTIVE,
        "performAutoTraining": changes.get(
            "performAutoTraining", solution.body.get("performAutoTraining")
        ),
        "performIncrementalUpdate": changes.get(
            "performIncrementalUpdate", solution.body.get("performIncrementalUpdate")
        ),
        "creationDateTime": now,
        "lastUpdatedDateTime": now,
    }
    ctx.store.update(solution.arn, body=changes)
    return {"solutionArn": solution.arn}


@operation("DeleteSolution")
def delete_solution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["solutionArn"]
    solution = common.get(ctx, arn, KIND)
    campaigns = [
        c
        for c in ctx.store.select("campaign")
        if c.body.get("solutionVersionArn", "").startswith(arn + "/")
    ]
    common.refuse_if_in_use(arn, campaigns, "campaigns")
    versions = ctx.store.select("solution-version", parent=arn)
    common.refuse_if_in_flight(arn, versions, "solution version")
    for version in versions:
        common.purge(ctx, version)
    common.mark_deleted(ctx, solution)
    return {}
