"""The recipe registry: recipe name (``aws-sims``) → :class:`~openpersonalize.engine.base.Model`.

Recipe modules are imported on first use, so importing the registry is cheap and a recipe whose
optional dependency is missing (semantic-similarity needs ``openpersonalize[semantic]``) does not
break the others. :func:`get_recipe` is the entry point; :data:`RECIPES` is the same registry as a
read-only mapping over the recipes that can actually be imported here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from openpersonalize.engine.base import Model

# recipe name -> (module under openpersonalize.engine.recipes, class name)
RECIPE_MODULES: dict[str, tuple[str, str]] = {
    "aws-user-personalization-v2": ("user_personalization_v2", "UserPersonalizationV2"),
    "aws-user-personalization": ("user_personalization", "UserPersonalization"),
    "aws-personalized-ranking-v2": ("personalized_ranking_v2", "PersonalizedRankingV2"),
    "aws-personalized-ranking": ("personalized_ranking", "PersonalizedRanking"),
    "aws-popularity-count": ("popularity_count", "PopularityCount"),
    "aws-trending-now": ("trending_now", "TrendingNow"),
    "aws-sims": ("sims", "Sims"),
    "aws-similar-items": ("similar_items", "SimilarItems"),
    "aws-semantic-similarity": ("semantic_similarity", "SemanticSimilarity"),
    "aws-item-affinity": ("item_affinity", "ItemAffinity"),
    "aws-item-attribute-affinity": ("item_attribute_affinity", "ItemAttributeAffinity"),
    "aws-next-best-action": ("next_best_action", "NextBestAction"),
}


class RecipeNotAvailable(LookupError):
    """The recipe is unknown, or its module is not there (yet) in this installation."""


def get_recipe(name: str) -> type[Model]:
    """The model class implementing ``name``; RecipeNotAvailable when it cannot be had."""
    try:
        module_name, class_name = RECIPE_MODULES[name]
    except KeyError:
        raise RecipeNotAvailable(f"Unknown recipe: {name}") from None
    qualified = f"{__name__}.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name != qualified:
            raise  # the module exists but one of its own imports is missing: a real error
        raise RecipeNotAvailable(f"Recipe {name} is not implemented in this version") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise RecipeNotAvailable(f"{qualified} has no Model class {class_name}")
    return cls


def available_recipes() -> list[str]:
    """Names of the recipes whose module imports here, in catalogue order."""
    out = []
    for name in RECIPE_MODULES:
        try:
            get_recipe(name)
        except RecipeNotAvailable:
            continue
        out.append(name)
    return out


class _Registry(Mapping[str, type[Model]]):
    """Lazy read-only view: looking a recipe up imports its module."""

    def __getitem__(self, name: str) -> type[Model]:
        try:
            return get_recipe(name)
        except RecipeNotAvailable as exc:
            raise KeyError(name) from exc

    def __iter__(self) -> Iterator[str]:
        return iter(available_recipes())

    def __len__(self) -> int:
        return len(available_recipes())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in RECIPE_MODULES and name in available_recipes()


RECIPES: Mapping[str, type[Model]] = _Registry()

__all__ = ["RECIPES", "RECIPE_MODULES", "RecipeNotAvailable", "available_recipes", "get_recipe"]
