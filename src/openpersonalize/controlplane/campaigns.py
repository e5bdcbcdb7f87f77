"""Campaigns: a solution version deployed for real-time requests."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import common, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import InvalidInputException, ResourceInUseException

KIND = "campaign"
LATEST = "/$LATEST"


def check_exploration(config: dict[str, Any] | None) -> None:
    exploration = (config or {}).get("itemExplorationConfig") or {}
    for key, value in exploration.items():
        if key not in ("explorationWeight", "explorationItemAgeCutOff"):
            raise InvalidInputException(
                f"Unknown itemExplorationConfig key {key!r}: use explorationWeight or "
                "explorationItemAgeCutOff."
            )
        try:
            number = float(value)
        except ValueError:
            raise InvalidInputException(
                f"itemExplorationConfig.{key} must be a number, got {value!r}."
            ) from None
        if key == "explorationWeight" and not 0.0 <= number <= 1.0:
            raise InvalidInputException("explorationWeight must be between 0.0 and 1.0.")
        if key == "explorationItemAgeCutOff" and number <= 0:
            raise InvalidInputException("explorationItemAgeCutOff must be greater than 0.")


def resolve_version(ctx: Context, arn: str, config: dict[str, Any] | None) -> str:
    """The ACTIVE solution version a campaign serves (``solution/$LATEST`` resolved)."""
    if arn.endswith(LATEST):
        if not (config or {}).get("syncWithLatestSolutionVersion"):
            raise InvalidInputException(
                "A solutionArn/$LATEST ARN requires campaignConfig.syncWithLatestSolutionVersion."
            )
        solution = common.require(ctx, arn[: -len(LATEST)], "solution")
        active = [
            v
            for v in ctx.store.select("solution-version", parent=solution.arn)
            if v.status == lifecycle.ACTIVE and v.deleted_at is None
        ]
        if not active:
            raise ResourceInUseException(f"Solution {solution.arn} has no ACTIVE version.")
        return active[0].arn
    if (config or {}).get("syncWithLatestSolutionVersion"):
        raise InvalidInputException(
            "syncWithLatestSolutionVersion requires the solutionArn/$LATEST form."
        )
    return common.require(ctx, arn, "solution-version").arn


@operation("CreateCampaign")
def create_campaign(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    config = params.get("campaignConfig") or {}
    check_exploration(config)
    version_arn = resolve_version(ctx, params["solutionVersionArn"], config)
    version = common.require(ctx, version_arn, "solution-version")
    group = version.dataset_group
    active = [c for c in common.live(ctx.store.select(KIND, dataset_group=group))]
    common.check_quota(
        len(active),
        ctx.config.max_active_campaigns_per_dataset_group,
        "Cannot create a campaign. More than "
        f"{ctx.config.max_active_campaigns_per_dataset_group} resources in ACTIVE state.",
    )
    name = params["name"]
    arn = ctx.arns.make(KIND, name)
    body = {
        "name": name,
        "campaignArn": arn,
        "solutionVersionArn": params["solutionVersionArn"],
        "servingVersionArn": version_arn,
        "minProvisionedTPS": params.get("minProvisionedTPS", 1),
        "campaignConfig": config,
    }
    common.create(
        ctx,
        kind=KIND,
        arn=arn,
        name=name,
        body=body,
        status=lifecycle.CREATE_PENDING,
        parent=version.parent,
        dataset_group=group,
        tags=params.get("tags"),
    )
    ctx.enqueue(arn, KIND)
    return {"campaignArn": arn}


@operation("DescribeCampaign")
def describe_campaign(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"campaign": common.describe(ctx, params["campaignArn"], KIND)}


@operation("ListCampaigns")
def list_campaigns(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(ctx, params, KIND, "campaigns", parent=params.get("solutionArn"))


@operation("UpdateCampaign")
def update_campaign(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    campaign = common.get(ctx, params["campaignArn"], KIND)
    if campaign.status not in (lifecycle.ACTIVE, lifecycle.CREATE_FAILED):
        raise ResourceInUseException(
            f"Campaign {campaign.arn} is {campaign.status}; it can be updated when ACTIVE or "
            "CREATE FAILED."
        )
    pending = (campaign.body.get("latestCampaignUpdate") or {}).get("status")
    if pending in lifecycle.IN_FLIGHT:
        raise ResourceInUseException(f"Campaign {campaign.arn} is already being updated.")
    config = params.get("campaignConfig", campaign.body.get("campaignConfig") or {})
    check_exploration(config)
    requested = params.get("solutionVersionArn", campaign.body["solutionVersionArn"])
    version_arn = resolve_version(ctx, requested, config)
    tps = params.get("minProvisionedTPS", campaign.body.get("minProvisionedTPS", 1))
    if (
        requested == campaign.body["solutionVersionArn"]
        and version_arn == campaign.body.get("servingVersionArn")
        and config == campaign.body.get("campaignConfig")
        and tps == campaign.body.get("minProvisionedTPS")
    ):
        raise InvalidInputException("The update does not change anything.")
    now = ctx.now()
    ctx.store.update(
        campaign.arn,
        body={
            "latestCampaignUpdate": {
                "solutionVersionArn": requested,
                "servingVersionArn": version_arn,
                "minProvisionedTPS": tps,
                "campaignConfig": config,
                "status": lifecycle.CREATE_PENDING,
                "creationDateTime": now,
                "lastUpdatedDateTime": now,
            }
        },
    )
    ctx.enqueue(campaign.arn, "campaign-update")
    return {"campaignArn": campaign.arn}


@operation("DeleteCampaign")
def delete_campaign(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    campaign = common.get(ctx, params["campaignArn"], KIND)
    common.mark_deleted(ctx, campaign)
    return {}
