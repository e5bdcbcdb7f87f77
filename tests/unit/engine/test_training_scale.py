"""The large-data paths of training: Arrow-vectorised build, tuning subsets, batch evaluation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.datasets import small
from openpersonalize.engine.recipes import user_personalization as up
from openpersonalize.engine.recipes._factors import fit_ials
from openpersonalize.engine.recipes.user_personalization import UserPersonalization
from openpersonalize.engine.split import personalize_split
from openpersonalize.engine.training_data import MinimumData, build_training_data


def test_build_matches_a_vocabulary_filled_in_time_order() -> None:
    table = small("ecommerce", seed=3).interactions
    data = build_training_data(table, minimums=MinimumData())
    users = [str(u) for u in table.column("USER_ID").to_pylist()]
    items = [str(i) for i in table.column("ITEM_ID").to_pylist()]
    types = [str(t) for t in table.column("EVENT_TYPE").to_pylist()]
    ts = np.asarray(table.column("TIMESTAMP").to_numpy(), dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    user_vocab = Vocabulary(users[i] for i in order)
    assert data.users == user_vocab
    assert data.items == Vocabulary(items[i] for i in order)
    np.testing.assert_array_equal(data.user_idx, user_vocab.indices(users[i] for i in order))
    names = list(dict.fromkeys(types[i] for i in order))
    assert data.event_types == names
    np.testing.assert_array_equal(data.event_type, [names.index(types[i]) for i in order])


def test_build_handles_null_ids_and_event_types() -> None:
    table = pa.table(
        {
            "USER_ID": ["a", None, "b", "a"],
            "ITEM_ID": ["x", "y", None, "y"],
            "TIMESTAMP": [3, 2, 1, 4],
            "EVENT_TYPE": [None, "Click", "click", "CLICK"],
        }
    )
    data = build_training_data(table, minimums=None)
    assert data.n_interactions == 2
    assert data.event_types == ["CLICK"]
    np.testing.assert_array_equal(data.event_type, [-1, 0])
    only = build_training_data(table, event_type="click", minimums=None)
    assert only.n_interactions == 1


def test_ials_warm_start_and_shapes() -> None:
    rng = np.random.default_rng(0)
    data = build_training_data(small("ecommerce", seed=1).interactions, minimums=None)
    m = up._user_item_matrix(data)
    factors = fit_ials(m, 8, rng, iterations=2)
    assert factors.shape == (data.n_items, 8) and factors.dtype == np.float32
    warm = fit_ials(m, 8, rng, iterations=1, init=factors)
    assert np.isfinite(warm).all()
    # The warm start goes on from the given factors: one more iteration stays near them, where a
    # cold start of one iteration lands somewhere else entirely.
    cold = fit_ials(m, 8, rng, iterations=1)
    assert np.linalg.norm(warm - factors) < 0.5 * np.linalg.norm(cold - factors)


@pytest.mark.parametrize("force_ials", [False, True])
def test_offline_batch_scores_match_score_users(
    force_ials: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if force_ials:
        monkeypatch.setattr(up, "EASE_MIN_COVERAGE", 2.0)
    monkeypatch.setattr(up, "TUNING_ITEMS", 200)  # exercise the tuning item subset
    data = build_training_data(small("ecommerce", seed=2).interactions, minimums=None)
    split = personalize_split(data, 0)
    model = UserPersonalization.train(
        split.train, {"hidden_dimension": "16"}, np.random.default_rng(0)
    )
    assert (model.item_factors is not None) == force_ials
    histories = split.test.histories()[:40]
    np.testing.assert_allclose(
        model.score_users_offline(histories), model.score_users(histories), atol=2e-4
    )
