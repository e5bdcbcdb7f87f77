"""Recommenders: domain use cases trained and served as one resource."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import campaigns, catalog, common, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import InvalidInputException, ResourceInUseException

KIND = "recommender"


@operation("CreateRecommender")
def create_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = common.require(ctx, params["datasetGroupArn"], "dataset-group")
    recipe = catalog.recipe_from_arn(ctx, params["recipeArn"])
    domain = group.body.get("domain")
    if not domain:
        raise InvalidInputException(
            f"Dataset group {group.arn} is not a domain dataset group: recommenders need "
            "domain ECOMMERCE or VIDEO_ON_DEMAND."
        )
    if recipe.domain != domain:
        raise InvalidInputException(
            f"Recipe {recipe.name} is not a use case of the {domain} domain."
        )
    config = params.get("recommenderConfig") or {}
    campaigns.check_exploration(config)
    name = params["name"]
    arn = ctx.arns.make(KIND, name)
    body = {
        "recommenderArn": arn,
        "datasetGroupArn": group.arn,
        "name": name,
        "recipeArn": params["recipeArn"],
        "recommenderConfig": {"minRecommendationRequestsPerSecond": 1, **config},
    }
    common.create_in_group(
        ctx,
        kind=KIND,
        arn=arn,
        name=name,
        body=body,
        group=group,
        limit=ctx.config.max_recommenders_per_dataset_group,
        plural="recommenders",
        tags=params.get("tags"),
        job=True,
    )
    return {"recommenderArn": arn}


@operation("DescribeRecommender")
def describe_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"recommender": common.describe(ctx, params["recommenderArn"], KIND)}


@operation("ListRecommenders")
def list_recommenders(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, KIND, "recommenders", dataset_group=params.get("datasetGroupArn")
    )


@operation("UpdateRecommender")
def update_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rec = common.get(ctx, params["recommenderArn"], KIND)
    if rec.status != lifecycle.ACTIVE:
        raise ResourceInUseException(f"Recommender {rec.arn} is {rec.status}.")
    config = {**rec.body.get("recommenderConfig", {}), **params["recommenderConfig"]}
    campaigns.check_exploration(config)
    now = ctx.now()
    ctx.store.update(
        rec.arn,
        body={
            "latestRecommenderUpdate": {
                "recommenderConfig": config,
                "status": lifecycle.CREATE_PENDING,
                "creationDateTime": now,
                "lastUpdatedDateTime": now,
            }
        },
    )
    ctx.enqueue(rec.arn, "recommender-update")
    return {"recommenderArn": rec.arn}


@operation("StopRecommender")
def stop_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rec = common.get(ctx, params["recommenderArn"], KIND)
    if rec.status != lifecycle.ACTIVE:
        raise ResourceInUseException(f"Recommender {rec.arn} is {rec.status}, not ACTIVE.")
    # Stopping needs no work here: the serving process drops the model on its next lookup.
    ctx.store.update(rec.arn, status=lifecycle.INACTIVE)
    return {"recommenderArn": rec.arn}


@operation("StartRecommender")
def start_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rec = common.get(ctx, params["recommenderArn"], KIND)
    if rec.status != lifecycle.INACTIVE:
        raise ResourceInUseException(f"Recommender {rec.arn} is {rec.status}, not INACTIVE.")
    ctx.store.update(rec.arn, status=lifecycle.ACTIVE)
    return {"recommenderArn": rec.arn}


@operation("DeleteRecommender")
def delete_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rec = common.get(ctx, params["recommenderArn"], KIND)
    common.mark_deleted(ctx, rec)
    return {}
