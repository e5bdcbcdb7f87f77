"""The Personalize hold-out split (spec §4.1) and the validation split carved from training users.

Users, not events, are split: 10 % of the users (drawn only from users with at least two
interactions) are test users; all interactions of the other users are training data. For each test
user the oldest 90 % of their events (at least one) are the input history fed to the trained model
and the newest 10 % (at least one) are the relevant items the model should rank high.

The split is a pure function of the data and a seed. The returned :class:`TrainingData` keeps the
original user and item vocabularies, so indices mean the same on both sides of the split; test
users simply have no training interactions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from openpersonalize.engine.base import History, IntArray, TrainingData

TEST_USER_FRACTION = 0.1
INPUT_EVENT_FRACTION = 0.9


@dataclass(frozen=True)
class HeldOutUsers:
    """Held-out users in CSR layout, one row per user (sorted by user index).

    ``input_*`` arrays have shape (n_input_events,) and are oldest first within a row;
    ``relevant_*`` arrays have shape (n_relevant_events,), also oldest first within a row
    (duplicates kept: use :meth:`relevant_sets` for the de-duplicated truth).
    """

    user_idx: IntArray  # (n_users,) int64
    input_indptr: IntArray  # (n_users + 1,) int64
    input_item_idx: IntArray  # (n_input_events,) int64
    input_timestamp: npt.NDArray[np.float64]  # (n_input_events,)
    input_event_type: IntArray  # (n_input_events,) int64, -1 when absent
    relevant_indptr: IntArray  # (n_users + 1,) int64
    relevant_item_idx: IntArray  # (n_relevant_events,) int64
    relevant_event_type: IntArray  # (n_relevant_events,) int64, -1 when absent
    event_types: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.user_idx.shape[0])

    def histories(self) -> list[History]:
        """The input histories as :class:`History` objects (``user_idx`` -1: unseen users)."""
        names = self.event_types
        out: list[History] = []
        for row in range(len(self)):
            lo, hi = int(self.input_indptr[row]), int(self.input_indptr[row + 1])
            types = self.input_event_type[lo:hi]
            out.append(
                History(
                    item_idx=self.input_item_idx[lo:hi].copy(),
                    timestamp=self.input_timestamp[lo:hi].copy(),
                    event_type=tuple(names[t] if t >= 0 else "" for t in types) if names else (),
                    user_idx=-1,
                )
            )
        return out

    def relevant_sets(self) -> list[IntArray]:
        """Per user, the distinct relevant item indices (sorted), int64."""
        ptr = self.relevant_indptr
        return [
            np.unique(self.relevant_item_idx[int(ptr[r]) : int(ptr[r + 1])])
            for r in range(len(self))
        ]


@dataclass(frozen=True)
class PersonalizeSplit:
    """Training data of the training users plus the held-out test users."""

    train: TrainingData
    test: HeldOutUsers


def subset_interactions(data: TrainingData, mask: npt.NDArray[np.bool_]) -> TrainingData:
    """``data`` restricted to the interactions where ``mask`` (shape (n_interactions,)) is True.

    Vocabularies and metadata are shared, not copied; the timestamp order is preserved.
    """
    return replace(
        data,
        user_idx=data.user_idx[mask],
        item_idx=data.item_idx[mask],
        timestamp=data.timestamp[mask],
        event_type=data.event_type[mask],
        event_value=data.event_value[mask],
        weight=data.weight[mask],
    )


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def personalize_split(
    data: TrainingData,
    seed: int | np.random.Generator = 0,
    *,
    test_fraction: float = TEST_USER_FRACTION,
    input_fraction: float = INPUT_EVENT_FRACTION,
) -> PersonalizeSplit:
    """Split ``data`` by users as Personalize does for its offline metrics (spec §4.1).

    ``test_fraction`` of the users that have interactions (rounded, at least one when any user is
    eligible) are drawn uniformly among users with ≥2 interactions. Each test user's events, ordered
    by timestamp (ties keep the data's order), are cut into the oldest ``input_fraction`` (at least
    one event) and the newest rest (at least one event). Deterministic for a given seed.
    """
    rng = _rng(seed)
    n = data.n_interactions
    counts = np.bincount(data.user_idx, minlength=data.n_users) if n else np.zeros(0, np.int64)
    active = int(np.count_nonzero(counts))
    eligible = np.flatnonzero(counts >= 2)
    n_test = min(len(eligible), max(1, round(test_fraction * active))) if len(eligible) else 0
    test_users = np.sort(rng.choice(eligible, size=n_test, replace=False)).astype(np.int64)

    is_test_user = np.zeros(data.n_users, dtype=bool)
    is_test_user[test_users] = True
    test_mask = is_test_user[data.user_idx] if n else np.zeros(0, dtype=bool)
    train = subset_interactions(data, ~test_mask)

    # Test events grouped by user, oldest first (stable sort keeps the timestamp order).
    test_rows = np.flatnonzero(test_mask)
    order = test_rows[np.argsort(data.user_idx[test_rows], kind="stable")]
    per_user = counts[test_users].astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(per_user)]).astype(np.int64)
    n_relevant = np.maximum(1, np.floor((1.0 - input_fraction) * per_user + 0.5).astype(np.int64))
    n_input = np.maximum(1, per_user - n_relevant)
    n_relevant = per_user - n_input
    position = np.arange(order.shape[0], dtype=np.int64) - np.repeat(starts[:-1], per_user)
    is_input = position < np.repeat(n_input, per_user)
    input_rows, relevant_rows = order[is_input], order[~is_input]

    test = HeldOutUsers(
        user_idx=test_users,
        input_indptr=np.concatenate([[0], np.cumsum(n_input)]).astype(np.int64),
        input_item_idx=data.item_idx[input_rows].astype(np.int64),
        input_timestamp=data.timestamp[input_rows].astype(np.float64),
        input_event_type=data.event_type[input_rows].astype(np.int64),
        relevant_indptr=np.concatenate([[0], np.cumsum(n_relevant)]).astype(np.int64),
        relevant_item_idx=data.item_idx[relevant_rows].astype(np.int64),
        relevant_event_type=data.event_type[relevant_rows].astype(np.int64),
        event_types=tuple(data.event_types),
    )
    return PersonalizeSplit(train=train, test=test)


def validation_split(
    train_data: TrainingData,
    seed: int | np.random.Generator = 0,
    *,
    test_fraction: float = TEST_USER_FRACTION,
) -> PersonalizeSplit:
    """A Personalize-style split of the *training* users only, for HPO / AutoML / model selection.

    Pass ``PersonalizeSplit.train`` (never the full data): the real test users are then never
    seen. The seed stream differs from :func:`personalize_split`'s for the same integer seed.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng([seed, 1])
    return personalize_split(train_data, rng, test_fraction=test_fraction)
