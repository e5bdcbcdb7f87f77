"""Domain recommender jobs: train the model behind each use case (spec §1.15, §3.1).

- ``recommender`` (CreateRecommender): CREATE PENDING → CREATE IN_PROGRESS → ACTIVE, or CREATE
  FAILED with the reason ("Dataset has fewer than 1000 interactions after filtering by event
  type: Watch" and the like).
- ``recommender-update`` (UpdateRecommender): retrains with the new ``recommenderConfig`` while the
  recommender keeps serving the old model; ``latestRecommenderUpdate.status`` goes CREATE
  IN_PROGRESS → ACTIVE, and only then do the config and the model switch. A failed update leaves
  the recommender as it was.
- ``recommender-retrain`` (the scheduler, :mod:`openpersonalize.jobs.autotrain`): payload
  ``{"mode": "FULL"}`` is the weekly full retraining with new metrics; ``{"mode": "NEW_ITEMS"}``
  the 2-hourly refresh of the "top picks" / "recommended for you" models with the current data
  (new items included) that keeps the metrics, as Personalize's automatic updates do.

The body gets ``artifact`` (model directory relative to the data directory), ``modelMetrics``, and
``useCase`` {recipe, recipeType, eventType, excludedEventTypes} for serving.
"""

from __future__ import annotations

import logging
from typing import Any

from openpersonalize.controlplane import catalog, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.engine import hyperparameters
from openpersonalize.jobs import runner
from openpersonalize.jobs.training import (
    recipe_class,
    rng,
    save,
    train_and_evaluate,
    train_model,
)
from openpersonalize.jobs.training_inputs import (
    INTERACTIONS,
    ITEMS,
    USERS,
    build,
    check_required,
    data_fingerprint,
    read_group,
)
from openpersonalize.jobs.use_cases import USE_CASES, UseCase
from openpersonalize.store.metadata import Job, Resource

log = logging.getLogger("openpersonalize.jobs.recommenders")
KIND = "recommender"


def use_case(ctx: Context, recommender: Resource) -> UseCase:
    recipe = catalog.recipe_from_arn(ctx, str(recommender.body["recipeArn"]))
    found = USE_CASES.get(recipe.name)
    if found is None:
        raise runner.JobFailed(f"Recipe {recipe.name} is not a domain use case.")
    return found


def train_use_case(
    ctx: Context, recommender: Resource, config: dict[str, Any], *, with_metrics: bool = True
) -> dict[str, Any]:
    """Train the use case's model; the body fields to store. Raises JobFailed with the reason."""
    case = use_case(ctx, recommender)
    group_arn = str(recommender.dataset_group)
    fingerprint = data_fingerprint(ctx, group_arn)
    group = read_group(ctx, group_arn, (INTERACTIONS, ITEMS, USERS))
    required = (INTERACTIONS, ITEMS) if case.needs_items else (INTERACTIONS,)
    for dataset_type in required:
        if dataset_type not in group.dataset_arns:
            raise runner.JobFailed(
                f"Use case {recommender.body['recipeArn'].rsplit('/', 1)[-1]} needs an "
                f"{dataset_type} dataset, and dataset group {group_arn} has none."
            )
    check_required(case.recipe, group.dataset_arns, group_arn)
    data = build(
        ctx,
        group,
        event_type=case.event_type,
        training_data_config=config.get("trainingDataConfig"),
    )
    cls = recipe_class(case.recipe)
    params = hyperparameters.validate(case.recipe)
    body: dict[str, Any] = {}
    if with_metrics:
        model, body["modelMetrics"] = train_and_evaluate(cls, data, None, params)
    else:  # the 2-hourly refresh: all the current data, metrics kept
        model = train_model(cls, data, params, rng(1))
    now = ctx.now()
    body.update(
        {
            "artifact": save(ctx, model, params),
            "useCase": {
                "recipe": case.recipe,
                "recipeType": cls.recipe_type,
                "eventType": case.event_type,
                "excludedEventTypes": list(case.exclude_event_types),
            },
            "dataFingerprint": fingerprint,
            "lastTrainingDateTime": now,
        }
    )
    if with_metrics:
        body["lastFullTrainingDateTime"] = now
    return body


@runner.job(KIND)
def create_recommender(ctx: Context, job: Job) -> None:
    recommender = ctx.store.find(job.arn)
    if recommender is None or recommender.deleted_at is not None:
        return
    if recommender.status == lifecycle.CREATE_PENDING:
        runner.start(ctx, job.arn)
    elif recommender.status != lifecycle.CREATE_IN_PROGRESS:
        return
    body = train_use_case(ctx, recommender, dict(recommender.body.get("recommenderConfig") or {}))
    ctx.store.update(job.arn, status=lifecycle.ACTIVE, body=body)


def _set_update(ctx: Context, arn: str, status: str, reason: str | None = None) -> dict[str, Any]:
    recommender = ctx.store.get(arn)
    update = dict(recommender.body.get("latestRecommenderUpdate") or {})
    update["status"] = status
    update["lastUpdatedDateTime"] = ctx.now()
    if reason is not None:
        update["failureReason"] = reason[:2000]
    ctx.store.update(arn, body={"latestRecommenderUpdate": update})
    return update


@runner.job("recommender-update")
def update_recommender(ctx: Context, job: Job) -> None:
    recommender = ctx.store.find(job.arn)
    if recommender is None or recommender.deleted_at is not None:
        return
    update = dict(recommender.body.get("latestRecommenderUpdate") or {})
    if update.get("status") not in (lifecycle.CREATE_PENDING, lifecycle.CREATE_IN_PROGRESS):
        return
    update = _set_update(ctx, job.arn, lifecycle.CREATE_IN_PROGRESS)
    config = dict(update.get("recommenderConfig") or {})
    try:
        body = train_use_case(ctx, recommender, config)
    except runner.JobFailed as exc:
        _set_update(ctx, job.arn, lifecycle.CREATE_FAILED, str(exc))
        return
    update["status"] = lifecycle.ACTIVE
    update["lastUpdatedDateTime"] = ctx.now()
    update.pop("failureReason", None)
    body["recommenderConfig"] = config
    body["latestRecommenderUpdate"] = update
    ctx.store.update(job.arn, body=body)


@runner.job("recommender-retrain")
def retrain_recommender(ctx: Context, job: Job) -> None:
    """Scheduled retraining; a failure is logged and the current model keeps serving."""
    recommender = ctx.store.find(job.arn)
    if recommender is None or recommender.deleted_at is not None:
        return
    if recommender.status != lifecycle.ACTIVE:
        return  # stopped recommenders are not retrained
    full = job.payload.get("mode", "FULL") == "FULL"
    config = dict(recommender.body.get("recommenderConfig") or {})
    try:
        body = train_use_case(ctx, recommender, config, with_metrics=full)
    except runner.JobFailed as exc:
        log.warning("scheduled retraining of %s failed: %s", job.arn, exc)
        now = ctx.now()
        stamp = {"lastTrainingDateTime": now}
        if full:
            stamp["lastFullTrainingDateTime"] = now
        ctx.store.update(job.arn, body={**stamp, "lastRetrainingFailure": str(exc)[:2000]})
        return
    body["lastRetrainingFailure"] = None
    ctx.store.update(job.arn, body=body)
