"""aws-personalized-ranking: the user-personalization model, ranking a caller's candidate list.

GetPersonalizedRanking scores the whole catalogue with :meth:`score_users` and the serving layer
keeps only the ``inputList`` items (softmax over that list). Sharing the model keeps both recipes'
behaviour — real-time fold-in, recency, sequence — identical.
"""

from __future__ import annotations

from typing import ClassVar

from openpersonalize.engine.recipes.user_personalization import UserPersonalization


class PersonalizedRanking(UserPersonalization):
    recipe_name: ClassVar[str] = "aws-personalized-ranking"
    recipe_type: ClassVar[str] = "PERSONALIZED_RANKING"
