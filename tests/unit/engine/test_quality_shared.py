"""A light quality check on the reference data (skipped where ../shared/data is absent)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from openpersonalize.engine.evaluate import evaluate_model, top_k
from openpersonalize.engine.metrics import ranking_metrics
from openpersonalize.engine.recipes.user_personalization import UserPersonalization
from openpersonalize.engine.split import personalize_split

pytestmark = pytest.mark.shared_data


def test_user_personalization_beats_popularity_on_personalize_poc(shared_data: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from benchmarks._loaders import load_personalize_poc

    data = load_personalize_poc(shared_data)
    split = personalize_split(data, 0)
    model = UserPersonalization.train(split.train, {}, np.random.default_rng(0))
    up = evaluate_model(model, split.test, data.n_items)
    counts = np.bincount(split.train.item_idx, minlength=data.n_items).astype(np.float32)
    pop_top = top_k(np.tile(counts, (len(split.test), 1)))
    pop = ranking_metrics(pop_top, split.test.relevant_sets(), data.n_items)
    key = "normalized_discounted_cumulative_gain_at_10"
    assert up[key] > 1.5 * pop[key]
    assert up["coverage"] > 5 * pop["coverage"]
