"""Scheduled training, checked by the server's scheduler; the training itself runs in workers.

Solutions with ``performAutoTraining`` (the default) get a solution version with ``trainingMode``
AUTOTRAIN and ``trainingType`` AUTOMATIC when both hold (spec §1.12):

- the schedule has elapsed: ``rate(N days)`` from ``solutionConfig.autoTrainingConfig`` (default 7)
  since the newest version was created — or, for a solution without versions, 1 hour since it was
  created (a manual version created in that hour takes its place);
- new interaction data arrived: the rows stored for the Interactions dataset differ from the count
  recorded by the newest version's training (bulk imports and compacted real-time events count).

A "day" is ``auto_training_day_seconds`` (86400 unless lowered for tests and demos).

Recommenders (spec §1.15) are retrained fully every ``recommender_full_retrain_seconds`` (a week),
and "top picks" / "recommended for you" refreshed every ``recommender_new_item_update_seconds``
(2 hours); either is skipped when no dataset of the group changed since the last training.
Stopped (INACTIVE) recommenders are not retrained.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from openpersonalize.controlplane import lifecycle, solution_versions
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import PersonalizeError
from openpersonalize.jobs.scheduler import every
from openpersonalize.jobs.training_inputs import data_fingerprint, interactions_fingerprint
from openpersonalize.jobs.use_cases import use_case_of
from openpersonalize.store.metadata import QUEUED, RUNNING, Resource

log = logging.getLogger("openpersonalize.jobs.autotrain")

CHECK_SECONDS = 1.0
DEFAULT_DAYS = 7
FIRST_TRAINING_FRACTION_OF_DAY = 1.0 / 24.0
_RATE = re.compile(r"^rate\((\d+) days?\)$")


def schedule_days(solution: Resource) -> int:
    config = solution.body.get("solutionConfig") or {}
    expression = str((config.get("autoTrainingConfig") or {}).get("schedulingExpression") or "")
    match = _RATE.match(expression.strip())
    return int(match.group(1)) if match else DEFAULT_DAYS


def auto_training_due(ctx: Context, solution: Resource, now: float) -> bool:
    """Whether an automatic version should be created for ``solution`` at ``now``."""
    if solution.status != lifecycle.ACTIVE or solution.deleted_at is not None:
        return False
    if not solution.body.get("performAutoTraining", True):
        return False
    versions = ctx.store.select(solution_versions.KIND, parent=solution.arn, include_deleted=False)
    if any(v.status in lifecycle.IN_FLIGHT for v in versions):
        return False
    day = ctx.config.auto_training_day_seconds
    if not versions:
        if now - solution.created < day * FIRST_TRAINING_FRACTION_OF_DAY:
            return False
        return interactions_fingerprint(ctx, str(solution.dataset_group)) > 0
    newest = max(versions, key=lambda v: v.created)
    if now - newest.created < schedule_days(solution) * day:
        return False
    recorded = newest.body.get("dataFingerprint")
    return interactions_fingerprint(ctx, str(solution.dataset_group)) != recorded


def run_auto_training(ctx: Context, now: float | None = None) -> list[str]:
    """Create the automatic versions that are due; their ARNs."""
    now = ctx.now() if now is None else now
    created: list[str] = []
    for solution in ctx.store.select("solution", include_deleted=False):
        try:
            if not auto_training_due(ctx, solution, now):
                continue
            arn = solution_versions.create_version(ctx, solution, "AUTOTRAIN", "AUTOMATIC")
        except PersonalizeError as exc:
            log.warning("automatic training of %s not started: %s", solution.arn, exc.message)
            continue
        log.info("automatic training of %s: %s", solution.arn, arn)
        created.append(arn)
    return created


def _has_job(ctx: Context, arn: str) -> bool:
    return bool(ctx.store.jobs(arn, states=(QUEUED, RUNNING)))


def retraining_due(ctx: Context, recommender: Resource, now: float) -> dict[str, Any] | None:
    """The retraining job payload due for an ACTIVE recommender at ``now``, or None."""
    if recommender.status != lifecycle.ACTIVE or recommender.deleted_at is not None:
        return None
    body = recommender.body
    last_full = float(body.get("lastFullTrainingDateTime") or recommender.created)
    last_any = float(body.get("lastTrainingDateTime") or last_full)
    mode: str | None = None
    if now - last_full >= ctx.config.recommender_full_retrain_seconds:
        mode = "FULL"
    else:
        case = use_case_of(str(body.get("recipeArn", "")))
        refresh = ctx.config.recommender_new_item_update_seconds
        if case is not None and case.new_item_updates and now - last_any >= refresh:
            mode = "NEW_ITEMS"
    if mode is None:
        return None
    if data_fingerprint(ctx, str(recommender.dataset_group)) == body.get("dataFingerprint"):
        # Nothing new to learn from: count this as the retraining.
        stamp = {"lastTrainingDateTime": now}
        if mode == "FULL":
            stamp["lastFullTrainingDateTime"] = now
        ctx.store.update(recommender.arn, body=stamp, touch=False)
        return None
    return {"mode": mode}


def run_recommender_retraining(ctx: Context, now: float | None = None) -> list[str]:
    """Enqueue the recommender retrainings that are due; the recommender ARNs."""
    now = ctx.now() if now is None else now
    queued: list[str] = []
    for recommender in ctx.store.select("recommender", include_deleted=False):
        if _has_job(ctx, recommender.arn):
            continue
        payload = retraining_due(ctx, recommender, now)
        if payload is not None:
            ctx.enqueue(recommender.arn, "recommender-retrain", payload)
            queued.append(recommender.arn)
    return queued


@every(CHECK_SECONDS)
def auto_training(ctx: Context) -> None:
    run_auto_training(ctx)


@every(CHECK_SECONDS)
def recommender_retraining(ctx: Context) -> None:
    run_recommender_retraining(ctx)
