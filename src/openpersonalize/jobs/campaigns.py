"""Campaign jobs: check that the solution version's model loads, then make it the serving one.

``campaign`` (CreateCampaign) moves the campaign CREATE PENDING → CREATE IN_PROGRESS → ACTIVE, or
CREATE FAILED with the reason. ``campaign-update`` (UpdateCampaign) moves
``latestCampaignUpdate.status`` the same way and only when the new model has loaded switches the
campaign's ``servingVersionArn`` / ``campaignConfig``: the server keeps answering with the old model
until it sees the switch, so an update never fails a request. A failed update leaves the campaign
(and what it serves) as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.engine.artifacts import ArtifactError, load_model
from openpersonalize.engine.recipes import RecipeNotAvailable
from openpersonalize.jobs import runner
from openpersonalize.store.metadata import Job


class ArtifactUnavailable(Exception):
    """The solution version has no loadable model; the message is the failureReason."""


def artifact_path(ctx: Context, version_arn: str) -> Path:
    """The model directory of an ACTIVE solution version (``body.artifact``, under data_dir)."""
    version = ctx.store.find(version_arn)
    if version is None or version.deleted_at is not None:
        raise ArtifactUnavailable(f"Solution version {version_arn} does not exist.")
    if version.status != lifecycle.ACTIVE:
        raise ArtifactUnavailable(
            f"Solution version {version_arn} is {version.status}; a campaign needs an ACTIVE one."
        )
    artifact = version.body.get("artifact")
    if not isinstance(artifact, str) or not artifact:
        raise ArtifactUnavailable(f"Solution version {version_arn} has no trained model.")
    return ctx.data_dir / artifact


def check_loads(ctx: Context, version_arn: str) -> None:
    """Load the model once, fully verified, so that serving will not meet a broken artifact."""
    path = artifact_path(ctx, version_arn)
    try:
        load_model(path)
    except (ArtifactError, RecipeNotAvailable, OSError, ValueError, KeyError) as exc:
        raise ArtifactUnavailable(
            f"The model of solution version {version_arn} cannot be loaded: {exc}"
        ) from None


@runner.job("campaign")
def create_campaign(ctx: Context, job: Job) -> None:
    runner.start(ctx, job.arn)
    campaign = ctx.store.get(job.arn)
    try:
        check_loads(ctx, str(campaign.body["servingVersionArn"]))
    except ArtifactUnavailable as exc:
        raise runner.JobFailed(str(exc)) from None
    ctx.store.update(job.arn, status=lifecycle.ACTIVE)


def _set_update(ctx: Context, arn: str, status: str, reason: str | None = None) -> None:
    campaign = ctx.store.get(arn)
    update = dict(campaign.body.get("latestCampaignUpdate") or {})
    update["status"] = status
    update["lastUpdatedDateTime"] = ctx.now()
    if reason is not None:
        update["failureReason"] = reason[:2000]
    ctx.store.update(arn, body={"latestCampaignUpdate": update})


@runner.job("campaign-update")
def update_campaign(ctx: Context, job: Job) -> None:
    campaign = ctx.store.get(job.arn)
    update = dict(campaign.body.get("latestCampaignUpdate") or {})
    if update.get("status") not in (lifecycle.CREATE_PENDING, lifecycle.CREATE_IN_PROGRESS):
        return  # nothing pending (a retried job that already finished)
    _set_update(ctx, job.arn, lifecycle.CREATE_IN_PROGRESS)
    version_arn = str(update.get("servingVersionArn") or campaign.body["servingVersionArn"])
    try:
        check_loads(ctx, version_arn)
    except ArtifactUnavailable as exc:
        # The campaign keeps serving its current version: only the update fails.
        _set_update(ctx, job.arn, lifecycle.CREATE_FAILED, str(exc))
        return
    update["status"] = lifecycle.ACTIVE
    update["lastUpdatedDateTime"] = ctx.now()
    update.pop("failureReason", None)
    body: dict[str, Any] = {
        "solutionVersionArn": update.get("solutionVersionArn", campaign.body["solutionVersionArn"]),
        "servingVersionArn": version_arn,
        "minProvisionedTPS": update.get(
            "minProvisionedTPS", campaign.body.get("minProvisionedTPS")
        ),
        "campaignConfig": update.get("campaignConfig", campaign.body.get("campaignConfig") or {}),
        "latestCampaignUpdate": update,
    }
    # An update of a CREATE FAILED campaign that succeeds makes it ACTIVE.
    status = lifecycle.ACTIVE if campaign.status == lifecycle.CREATE_FAILED else None
    if status is not None:
        body["failureReason"] = None
    ctx.store.update(job.arn, status=status, body=body)
