"""Building TrainingData: event filters, weights, column selection, minimum-data rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from openpersonalize.engine.training_data import (
    MinimumData,
    TrainingDataError,
    build_training_data,
)

from .conftest import tiny_tables


def events(n_users: int, per_user: int, event_type: str = "click") -> pa.Table:
    users = [f"u{u}" for u in range(n_users) for _ in range(per_user)]
    return pa.table(
        {
            "USER_ID": users,
            "ITEM_ID": [f"i{k % 7}" for k in range(len(users))],
            "TIMESTAMP": list(range(len(users), 0, -1)),
            "EVENT_TYPE": [event_type] * len(users),
            "EVENT_VALUE": [float(k % 5) for k in range(len(users))],
        }
    )


def test_sorted_by_time_and_indexed() -> None:
    data = build_training_data(events(3, 2), minimums=None)
    assert np.all(np.diff(data.timestamp) >= 0)
    assert data.user_idx.dtype == np.int64 and data.weight.dtype == np.float32
    assert data.event_types == ["click"] and set(data.event_type.tolist()) == {0}
    assert data.users.ids(data.user_idx[:1]) == ["u2"]  # the oldest event is user u2's


def test_minimum_interactions_messages() -> None:
    table = events(30, 30)  # 900 interactions
    with pytest.raises(TrainingDataError) as exc:
        build_training_data(table)
    assert exc.value.message == "Dataset has fewer than 1000 interactions."
    with pytest.raises(TrainingDataError) as exc:
        build_training_data(events(40, 30), event_type="Watch")
    assert exc.value.message == (
        "Dataset has fewer than 1000 interactions after filtering by event type: Watch"
    )


def test_minimum_users_message() -> None:
    with pytest.raises(TrainingDataError) as exc:
        build_training_data(events(24, 50))
    assert exc.value.message == (
        "Create failed. Dataset has fewer than 25 users with at least 2 interactions each."
    )
    assert build_training_data(events(25, 40)).n_users == 25
    lowered = build_training_data(events(3, 4), minimums=MinimumData(10, 3))
    assert lowered.n_interactions == 12


def test_event_type_is_case_insensitive_and_threshold_applies() -> None:
    table = pa.concat_tables([events(3, 4, "Click"), events(3, 4, "watch")])
    data = build_training_data(table, event_type="CLICK", minimums=None)
    assert data.n_interactions == 12 and data.event_types == ["Click"]
    data = build_training_data(table, event_type="click", event_value_threshold="3", minimums=None)
    assert data.n_interactions > 0 and (data.event_value >= 3).all()


def test_events_config_weights_and_thresholds() -> None:
    table = pa.concat_tables(
        [events(3, 4, "click"), events(3, 4, "purchase"), events(3, 4, "view")]
    )
    config = {
        "eventParametersList": [
            {"eventType": "Purchase", "weight": 0.6},
            {"eventType": "click", "weight": 0.2, "eventValueThreshold": 2.0},
        ]
    }
    data = build_training_data(table, events_config=config, minimums=None)
    names = np.array(data.event_types)[data.event_type]
    assert set(names) == {"click", "purchase"}  # unlisted "view" is not used
    np.testing.assert_allclose(data.weight[names == "purchase"], 1.0)
    np.testing.assert_allclose(data.weight[names == "click"], 1 / 3, rtol=1e-6)
    assert (data.event_value[names == "click"] >= 2).all()


def test_item_metadata_and_cold_items() -> None:
    interactions, items, schema = tiny_tables()
    data = build_training_data(interactions, items, items_schema=schema, minimums=None)
    assert "Acold" in data.items  # items without interactions still get an index
    idx = data.items.index("Acold")
    assert data.item_columns["GENRE"][idx] == ["genreA"]
    assert data.item_textual == ["DESCRIPTION"] and data.item_name_column == "NAME"
    assert data.item_columns["PRICE"].dtype == np.float64


def test_training_data_config_excludes_columns() -> None:
    interactions, items, schema = tiny_tables()
    config = {"excludedDatasetColumns": {"ITEMS": ["GENRE"]}}
    data = build_training_data(
        interactions, items, items_schema=schema, training_data_config=config, minimums=None
    )
    assert "GENRE" not in data.item_columns and data.item_categorical == []
    config = {"includedDatasetColumns": {"Items": ["PRICE"]}}
    data = build_training_data(
        interactions, items, items_schema=schema, training_data_config=config, minimums=None
    )
    assert list(data.item_columns) == ["PRICE"]


def test_missing_required_column() -> None:
    with pytest.raises(TrainingDataError, match="TIMESTAMP"):
        build_training_data(pa.table({"USER_ID": ["a"], "ITEM_ID": ["b"]}), minimums=None)


def test_personalize_poc_meets_the_minimums(shared_data: Path) -> None:
    table = pacsv.read_csv(
        shared_data / "personalize-poc" / "interactions.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={"USER_ID": pa.string(), "ITEM_ID": pa.string()}
        ),
    )
    data = build_training_data(table, event_type="watch")
    assert data.n_interactions > 1000
    assert data.event_types == ["watch"]
