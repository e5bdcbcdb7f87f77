"""The contract every recipe implements.

Training is a pure function: :class:`TrainingData` (numpy arrays indexed by contiguous user/item
indices) and hyperparameters in, a :class:`Model` out. A model is inert data: it round-trips through
``to_arrays`` / ``from_arrays`` (stored as ``npz`` + JSON manifest, never pickle) and answers
batched scoring calls. Everything about HTTP, filters, exclusions and top-k lives outside.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from openpersonalize.data.vocab import Vocabulary

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
JsonDict = dict[str, Any]


@dataclass
class ActionData:
    """Actions and action interactions (aws-next-best-action), already mapped to indices.

    ``actions`` covers the Actions dataset; per-action arrays have shape (n_actions,) with NaN
    where the column is absent: ``value`` (VALUE), ``expiration`` (EXPIRATION_TIMESTAMP, epoch
    seconds), ``repeat_days`` (REPEAT_FREQUENCY). Interaction arrays have shape
    (n_action_interactions,), sorted by ``timestamp``; ``user_idx`` indexes ``users`` (the users
    of the action interactions), ``taken`` is True for TAKEN events (False: NOT_TAKEN / VIEWED).
    """

    actions: Vocabulary
    value: npt.NDArray[np.float64]
    expiration: npt.NDArray[np.float64]
    repeat_days: npt.NDArray[np.float64]
    users: Vocabulary
    user_idx: IntArray
    action_idx: IntArray
    timestamp: npt.NDArray[np.float64]
    taken: npt.NDArray[np.bool_]


@dataclass
class TrainingData:
    """Interactions plus optional metadata, already mapped to indices.

    Interaction arrays all have shape (n_interactions,) and are sorted by ``timestamp`` ascending.
    ``items`` covers every item known to the dataset group (Items dataset ∪ interactions), so items
    without interactions have an index too (cold items).
    """

    users: Vocabulary
    items: Vocabulary
    user_idx: IntArray
    item_idx: IntArray
    timestamp: npt.NDArray[np.float64]  # epoch seconds
    event_type: IntArray  # index into ``event_types``; -1 when absent
    event_types: list[str]
    event_value: FloatArray  # NaN when absent
    weight: FloatArray  # per-interaction weight (eventsConfig); 1.0 by default
    # Item metadata, aligned with ``items``: column name -> array of shape (n_items,).
    # Categorical columns hold lists of strings (multi-value split on "|") in object arrays;
    # numeric columns are float64 with NaN for missing; textual columns are str objects.
    item_columns: dict[str, np.ndarray] = field(default_factory=dict)
    item_categorical: list[str] = field(default_factory=list)
    item_textual: list[str] = field(default_factory=list)
    item_name_column: str | None = None
    item_creation_timestamp: npt.NDArray[np.float64] | None = None  # (n_items,), NaN when unknown
    # User metadata, aligned with ``users``.
    user_columns: dict[str, np.ndarray] = field(default_factory=dict)
    user_categorical: list[str] = field(default_factory=list)
    # Actions + Action_Interactions, for aws-next-best-action only.
    actions: ActionData | None = None

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_interactions(self) -> int:
        return int(self.user_idx.shape[0])


@dataclass(frozen=True)
class History:
    """One user's interactions as the model sees them at request time, oldest first.

    Bulk history known at training time plus real-time events that arrived since; item indices
    refer to the model's item vocabulary (events on items unknown to the model are dropped before).
    """

    item_idx: IntArray  # (k,)
    timestamp: npt.NDArray[np.float64]  # (k,)
    event_type: tuple[str, ...] = ()  # (k,) event type names, or empty when unknown
    user_idx: int = -1  # the user's training index, -1 for users the model never saw

    @staticmethod
    def empty(user_idx: int = -1) -> History:
        return History(
            np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), (), user_idx=user_idx
        )

    def __len__(self) -> int:
        return int(self.item_idx.shape[0])


class Model(ABC):
    """A trained recipe. Subclasses set ``recipe_name`` and ``recipe_type``.

    Scores are "higher is better" float32 over the model's whole item vocabulary; the caller
    masks, excludes and takes the top-k. ``-inf`` marks an item the model will never return.
    """

    recipe_name: ClassVar[str]
    recipe_type: ClassVar[str]  # USER_PERSONALIZATION, PERSONALIZED_RANKING, RELATED_ITEMS, ...
    # Whether real-time events change the next response (spec §6.3).
    realtime: ClassVar[bool] = False
    # Whether scores are returned to clients (softmax-normalised by the caller).
    returns_scores: ClassVar[bool] = False
    # Whether ``score_users(histories, out=buffer)`` writes the scores into a given C-contiguous
    # (len(histories), n_items) float32 buffer and returns it. Serving then scores each batch into
    # one reused buffer (warm in cache, no page faults); other models' scores are copied, as they
    # may be the model's own arrays.
    scores_into: ClassVar[bool] = False

    def __init__(self, items: Vocabulary, users: Vocabulary) -> None:
        self.items = items
        self.users = users

    @classmethod
    @abstractmethod
    def train(
        cls,
        data: TrainingData,
        hyperparameters: Mapping[str, str],
        rng: np.random.Generator,
    ) -> Model:
        """Fit on ``data``. ``hyperparameters`` are the wire strings, already validated."""

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        """Scores for a batch of users: shape (len(histories), n_items), float32."""
        raise NotImplementedError(f"{self.recipe_name} does not score users")

    def score_related(self, item_idx: IntArray) -> FloatArray:
        """Scores of every item as a neighbour of each query item: (len(item_idx), n_items)."""
        raise NotImplementedError(f"{self.recipe_name} does not score related items")

    @abstractmethod
    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        """The model as named numpy arrays plus a JSON-able dict (no vocabularies: saved apart)."""

    @classmethod
    @abstractmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> Model:
        """Inverse of :meth:`to_arrays`."""
