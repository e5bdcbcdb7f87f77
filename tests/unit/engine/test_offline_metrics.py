"""The USER_SEGMENTATION metrics on a known answer (spec §4.2: hit and recall at K, K = 1 %)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from openpersonalize.engine.offline_metrics import HITS_KEY, RECALL_KEY, segmentation_metrics

N_USERS = 300  # K = 1 % of the users = 3


class FixedSegments:
    """Scores each item's segment users 1 and everyone else 0."""

    def __init__(self, segments: dict[int, list[int]]) -> None:
        self.segments = segments

    def score_users_for_items(self, item_idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        scores = np.zeros((len(item_idx), N_USERS), dtype=np.float32)
        for row, item in enumerate(item_idx.tolist()):
            scores[row, self.segments[item]] = 1.0
        return scores


def metrics_of(segments: dict[int, list[int]], events: list[tuple[int, int]]) -> dict[str, float]:
    """Metrics of ``segments`` (item → its top-K users) against test ``events`` (user, item)."""
    users, items = (np.array(column, dtype=np.int64) for column in zip(*events, strict=True))
    model = FixedSegments(segments)
    return segmentation_metrics(model, users, items, N_USERS, np.random.default_rng(0))  # type: ignore[arg-type]


def test_hits_count_users_and_recall_is_a_fraction() -> None:
    # Item 0 was taken by users 0, 1, 2 and 5 in the test period, item 1 by user 7 only.
    events = [(0, 0), (1, 0), (2, 0), (5, 0), (7, 1)]
    metrics = metrics_of({0: [0, 1, 2], 1: [7, 8, 9]}, events)
    # Personalize's hit is the average NUMBER of the top-K users who interacted with the item,
    # (3 + 1) / 2: a count up to K, not a rate. Recall is the average fraction of the K users
    # who match, (3/3 + 1/3) / 2: item 1 had a single taker, so its recall is 1/3, not 1.
    assert metrics[HITS_KEY] == pytest.approx(2.0)
    assert metrics[RECALL_KEY] == pytest.approx(2 / 3)
    assert metrics["coverage"] == pytest.approx(6 / N_USERS)  # users in some segment ÷ users


def test_segments_that_miss_score_zero() -> None:
    metrics = metrics_of({0: [10, 11, 12]}, [(0, 0), (1, 0)])
    assert metrics[HITS_KEY] == 0.0 and metrics[RECALL_KEY] == 0.0
    assert metrics["coverage"] == pytest.approx(3 / N_USERS)
