"""aws-personalized-ranking-v2: the user-personalization-v2 model ranking a candidate list."""

from __future__ import annotations

from typing import ClassVar

from openpersonalize.engine.recipes.user_personalization_v2 import UserPersonalizationV2


class PersonalizedRankingV2(UserPersonalizationV2):
    recipe_name: ClassVar[str] = "aws-personalized-ranking-v2"
    recipe_type: ClassVar[str] = "PERSONALIZED_RANKING"
