"""personalize-runtime: GetRecommendations, GetPersonalizedRanking, GetActionRecommendations.

Thin: the work is in :mod:`openpersonalize.serving.recommend`.
"""

from __future__ import annotations

from typing import Any

from openpersonalize.api import attribution
from openpersonalize.api.app import async_rest_operation, rest_operation
from openpersonalize.controlplane.context import Context
from openpersonalize.serving import recommend

SERVICE = "personalize-runtime"


def _issued(ctx: Context, params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Remember which campaign or recommender issued the recommendationId (metric attribution
    credits later events that carry it to that ARN)."""
    source = params.get("campaignArn") or params.get("recommenderArn")
    attribution.remember(ctx, result.get("recommendationId"), source)
    return result


def get_recommendations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _issued(ctx, params, recommend.get_recommendations(ctx, params))


@async_rest_operation(SERVICE, "GetRecommendations", blocking=get_recommendations)
async def get_recommendations_async(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """On the event loop: the hot path of the runtime API (no thread hand-off per request)."""
    return _issued(ctx, params, await recommend.get_recommendations_async(ctx, params))


@rest_operation(SERVICE, "GetPersonalizedRanking")
def get_personalized_ranking(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _issued(ctx, params, recommend.get_personalized_ranking(ctx, params))


@rest_operation(SERVICE, "GetActionRecommendations")
def get_action_recommendations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _issued(ctx, params, recommend.get_action_recommendations(ctx, params))
