"""The read-only catalogue: recipes, algorithms and feature transformations (spec §2.1, §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import ResourceNotFoundException
from openpersonalize.wire.paging import page

# The catalogue's fixed creation time (2019-06-10, when most recipes were published).
CATALOG_TIME = 1560124800.0
# ListRecipes' default page is smaller than the catalogue: clients rely on a nextToken.
RECIPES_PAGE_SIZE = 10


@dataclass(frozen=True)
class Recipe:
    name: str
    recipe_type: str
    description: str
    algorithm: str | None = None  # defaults to the recipe name
    feature_transformation: str | None = None
    domain: str | None = None
    use_case: str | None = None  # the domain use case's required event type etc.
    legacy: bool = False

    @property
    def algorithm_name(self) -> str:
        return self.algorithm or self.name


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "aws-user-personalization-v2",
        "USER_PERSONALIZATION",
        "Sequence-aware personalized recommendations from interactions and item metadata; "
        "folds real-time events in at request time.",
    ),
    Recipe(
        "aws-user-personalization",
        "USER_PERSONALIZATION",
        "Personalized recommendations that use recency and sequence, with exploration of "
        "new items.",
    ),
    Recipe(
        "aws-trending-now",
        "POPULAR_ITEMS",
        "Items whose popularity grows fastest between recent intervals.",
        algorithm="aws-trending-now-custom",
    ),
    Recipe(
        "aws-popularity-count",
        "POPULAR_ITEMS",
        "The most popular items by number of interactions.",
        feature_transformation="sims",
    ),
    Recipe(
        "aws-personalized-ranking-v2",
        "PERSONALIZED_RANKING",
        "Re-ranks a list of items for a user, sequence-aware and using item metadata.",
    ),
    Recipe(
        "aws-personalized-ranking",
        "PERSONALIZED_RANKING",
        "Re-ranks a list of items for a user.",
        feature_transformation="JSON-percentile-filtering",
    ),
    Recipe(
        "aws-similar-items",
        "RELATED_ITEMS",
        "Items similar to a given item from co-occurrence and item metadata; cold items get "
        "neighbours from their metadata.",
    ),
    Recipe(
        "aws-sims",
        "RELATED_ITEMS",
        "Items often interacted with together (item-to-item co-occurrence with a popularity "
        "discount).",
        feature_transformation="sims",
    ),
    Recipe(
        "aws-semantic-similarity",
        "RELATED_ITEMS",
        "Items whose text is semantically similar, from sentence embeddings.",
        feature_transformation="aws-semantic-similarity",
    ),
    Recipe(
        "aws-next-best-action",
        "PERSONALIZED_ACTIONS",
        "The actions a user is most likely to take next.",
    ),
    Recipe(
        "aws-item-affinity",
        "USER_SEGMENTATION",
        "The users most likely to interact with given items (batch segments).",
        feature_transformation="item-affinity",
    ),
    Recipe(
        "aws-item-attribute-affinity",
        "USER_SEGMENTATION",
        "The users most likely to interact with items that have given attributes.",
        feature_transformation="item-attribute-affinity",
    ),
    Recipe(
        "aws-hrnn",
        "USER_PERSONALIZATION",
        "Legacy HRNN (no longer available).",
        feature_transformation="JSON-percentile-filtering",
        legacy=True,
    ),
    Recipe(
        "aws-hrnn-metadata",
        "USER_PERSONALIZATION",
        "Legacy HRNN with metadata (no longer available).",
        feature_transformation="featurize_metadata",
        legacy=True,
    ),
    Recipe(
        "aws-hrnn-coldstart",
        "USER_PERSONALIZATION",
        "Legacy HRNN cold start (no longer available).",
        feature_transformation="featurize_coldstart",
        legacy=True,
    ),
    # Domain use cases (CreateRecommender only).
    Recipe(
        "aws-vod-because-you-watched-x",
        "RELATED_ITEMS",
        "Because you watched X.",
        domain="VIDEO_ON_DEMAND",
        use_case="Watch",
    ),
    Recipe(
        "aws-vod-more-like-x",
        "RELATED_ITEMS",
        "More like X.",
        domain="VIDEO_ON_DEMAND",
        use_case="*",
    ),
    Recipe(
        "aws-vod-most-popular",
        "POPULAR_ITEMS",
        "Most popular.",
        domain="VIDEO_ON_DEMAND",
        use_case="Watch",
    ),
    Recipe(
        "aws-vod-trending-now",
        "POPULAR_ITEMS",
        "Trending now.",
        domain="VIDEO_ON_DEMAND",
        use_case="*",
    ),
    Recipe(
        "aws-vod-top-picks",
        "USER_PERSONALIZATION",
        "Top picks for you.",
        domain="VIDEO_ON_DEMAND",
        use_case="*",
    ),
    Recipe(
        "aws-ecomm-popular-items-by-views",
        "POPULAR_ITEMS",
        "Most viewed.",
        domain="ECOMMERCE",
        use_case="View",
    ),
    Recipe(
        "aws-ecomm-popular-items-by-purchases",
        "POPULAR_ITEMS",
        "Best sellers.",
        domain="ECOMMERCE",
        use_case="Purchase",
    ),
    Recipe(
        "aws-ecomm-frequently-bought-together",
        "RELATED_ITEMS",
        "Frequently bought together.",
        domain="ECOMMERCE",
        use_case="Purchase",
    ),
    Recipe(
        "aws-ecomm-customers-who-viewed-x-also-viewed",
        "RELATED_ITEMS",
        "Customers who viewed X also viewed.",
        domain="ECOMMERCE",
        use_case="View",
    ),
    Recipe(
        "aws-ecomm-recommended-for-you",
        "USER_PERSONALIZATION",
        "Recommended for you.",
        domain="ECOMMERCE",
        use_case="*",
    ),
)

RECIPES_BY_NAME = {r.name: r for r in RECIPES}
ALGORITHMS = {r.algorithm_name: r for r in RECIPES}
FEATURE_TRANSFORMATIONS = sorted(
    {r.feature_transformation for r in RECIPES if r.feature_transformation}
)


def recipe_from_arn(ctx: Context, arn: str) -> Recipe:
    """The recipe of a recipe ARN (region and account are empty in real ARNs but tolerated)."""
    name = arn.rsplit("recipe/", 1)[-1] if "recipe/" in arn else ""
    recipe = RECIPES_BY_NAME.get(name)
    if recipe is None or not arn.startswith("arn:") or ":personalize:" not in arn:
        raise ResourceNotFoundException.for_arn(arn)
    return recipe


def recipe_view(ctx: Context, recipe: Recipe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": recipe.name,
        "recipeArn": ctx.arns.global_arn("recipe", recipe.name),
        "algorithmArn": ctx.arns.global_arn("algorithm", recipe.algorithm_name),
        "status": "ACTIVE",
        "description": recipe.description,
        "recipeType": recipe.recipe_type,
        "creationDateTime": CATALOG_TIME,
        "lastUpdatedDateTime": CATALOG_TIME,
    }
    if recipe.feature_transformation:
        out["featureTransformationArn"] = ctx.arns.global_arn(
            "feature-transformation", recipe.feature_transformation
        )
    if recipe.domain:
        out["domain"] = recipe.domain
    return out


@operation("ListRecipes")
def list_recipes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    domain = params.get("domain")
    recipes = [r for r in RECIPES if domain is None or r.domain == domain]
    scope = f"recipes|{domain}|{params.get('recipeProvider')}"
    # Domain-filtered pages page over the whole catalogue, so a page may be empty but still
    # carry a nextToken, as AWS's does.
    if domain is not None:
        chunk_all, token = page(
            RECIPES, params.get("nextToken"), params.get("maxResults"), scope, RECIPES_PAGE_SIZE
        )
        chunk = [r for r in chunk_all if r in recipes]
    else:
        chunk, token = page(
            recipes, params.get("nextToken"), params.get("maxResults"), scope, RECIPES_PAGE_SIZE
        )
    out: dict[str, Any] = {"recipes": [recipe_view(ctx, r) for r in chunk]}
    if token:
        out["nextToken"] = token
    return out


@operation("DescribeRecipe")
def describe_recipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"recipe": recipe_view(ctx, recipe_from_arn(ctx, params["recipeArn"]))}


@operation("DescribeAlgorithm")
def describe_algorithm(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["algorithmArn"]
    name = arn.rsplit("algorithm/", 1)[-1] if "algorithm/" in arn else ""
    recipe = ALGORITHMS.get(name)
    if recipe is None:
        raise ResourceNotFoundException.for_arn(arn)
    from openpersonalize.engine import hyperparameters

    defaults = hyperparameters.default_hyperparameters(recipe.name)
    ranges = hyperparameters.default_hyperparameter_ranges(recipe.name)
    return {
        "algorithm": {
            "name": name,
            "algorithmArn": ctx.arns.global_arn("algorithm", name),
            "algorithmImage": {"name": name, "dockerURI": f"openpersonalize/{name}"},
            "defaultHyperParameters": defaults,
            "defaultHyperParameterRanges": ranges,
            "defaultResourceConfig": {
                "maxNumberOfTrainingJobs": "20",
                "maxParallelTrainingJobs": "2",
            },
            "trainingInputMode": "File",
            "creationDateTime": CATALOG_TIME,
            "lastUpdatedDateTime": CATALOG_TIME,
        }
    }


@operation("DescribeFeatureTransformation")
def describe_feature_transformation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["featureTransformationArn"]
    name = arn.rsplit("feature-transformation/", 1)[-1] if "feature-transformation/" in arn else ""
    if name not in FEATURE_TRANSFORMATIONS:
        raise ResourceNotFoundException.for_arn(arn)
    from openpersonalize.engine import hyperparameters

    users = [r.name for r in RECIPES if r.feature_transformation == name]
    return {
        "featureTransformation": {
            "name": name,
            "featureTransformationArn": ctx.arns.global_arn("feature-transformation", name),
            "defaultParameters": hyperparameters.default_featurization_parameters(users[0]),
            "status": "ACTIVE",
            "creationDateTime": CATALOG_TIME,
            "lastUpdatedDateTime": CATALOG_TIME,
        }
    }
