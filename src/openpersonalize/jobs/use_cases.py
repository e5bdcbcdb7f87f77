"""How each domain use case (spec §3.1) is trained: the recipe, the event type, the exclusions.

Kept free of the engine so that the scheduler (in the server process) and serving can read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UseCase:
    """``recipe``: the custom recipe trained for it; ``event_type``: the only event type trained on
    (and the one the 1000-interaction minimum counts; matched case-insensitively), None for all;
    ``exclude_event_types``: a user's items with these events are not recommended to them;
    ``needs_items``: the Items dataset is required; ``new_item_updates``: refreshed every 2 hours
    so new items can be recommended."""

    recipe: str
    event_type: str | None = None
    exclude_event_types: tuple[str, ...] = ()
    needs_items: bool = False
    new_item_updates: bool = False


USE_CASES: dict[str, UseCase] = {
    "aws-vod-because-you-watched-x": UseCase("aws-sims", "Watch", ("Watch",)),
    "aws-vod-more-like-x": UseCase("aws-similar-items", None, ("Watch",), needs_items=True),
    "aws-vod-most-popular": UseCase("aws-popularity-count", "Watch"),
    "aws-vod-trending-now": UseCase("aws-trending-now"),
    "aws-vod-top-picks": UseCase(
        "aws-user-personalization", None, ("Watch",), new_item_updates=True
    ),
    "aws-ecomm-popular-items-by-views": UseCase("aws-popularity-count", "View"),
    "aws-ecomm-popular-items-by-purchases": UseCase("aws-popularity-count", "Purchase"),
    "aws-ecomm-frequently-bought-together": UseCase("aws-sims", "Purchase"),
    "aws-ecomm-customers-who-viewed-x-also-viewed": UseCase("aws-sims", "View", ("Purchase",)),
    "aws-ecomm-recommended-for-you": UseCase(
        "aws-user-personalization", None, ("Purchase",), new_item_updates=True
    ),
}


def use_case_of(recipe_arn: str) -> UseCase | None:
    return USE_CASES.get(recipe_arn.rsplit("/", 1)[-1])
