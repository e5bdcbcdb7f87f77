"""Artifacts: content-addressed, atomic, read-only, pickle-free; plus the export formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from openpersonalize.engine.artifacts import (
    ARRAYS,
    MANIFEST,
    ArtifactError,
    export_model,
    load_model,
    read_manifest,
    save_model,
)
from openpersonalize.engine.base import TrainingData
from openpersonalize.engine.hyperparameters import validate
from openpersonalize.engine.recipes.item_affinity import ItemAffinity
from openpersonalize.engine.recipes.sims import Sims


@pytest.fixture
def sims(tiny_data: TrainingData) -> Sims:
    return Sims.train(tiny_data, validate("aws-sims"), np.random.default_rng(0))


def test_content_addressed_and_idempotent(sims: Sims, tmp_path: Path) -> None:
    first = save_model(sims, tmp_path, {"a": "1"})
    again = save_model(sims, tmp_path, {"a": "1"})
    other = save_model(sims, tmp_path, {"a": "2"})
    assert first == again != other
    assert first.name == read_manifest(first)["sha256"][:32]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_manifest_describes_arrays(sims: Sims, tmp_path: Path) -> None:
    manifest = read_manifest(save_model(sims, tmp_path, validate("aws-sims")))
    assert manifest["recipe_name"] == "aws-sims"
    assert manifest["format_version"] == 1
    assert manifest["training_parameters"]["min_cointeraction_count"] == "3"
    assert manifest["arrays"]["__items__"]["dtype"].startswith("<U")
    assert manifest["arrays"]["neighbours_indptr"]["shape"] == [len(sims.items) + 1]


def test_loaded_arrays_are_read_only(sims: Sims, tmp_path: Path) -> None:
    loaded = load_model(save_model(sims, tmp_path))
    assert isinstance(loaded, Sims)
    with pytest.raises(ValueError, match="read-only"):
        loaded.popularity[0] = 1.0
    files = save_model(sims, tmp_path)
    assert not (files / ARRAYS).stat().st_mode & 0o222


def test_tampering_is_detected(sims: Sims, tmp_path: Path) -> None:
    directory = save_model(sims, tmp_path)
    manifest_path = directory / MANIFEST
    manifest_path.chmod(0o644)
    manifest = json.loads(manifest_path.read_text())
    manifest["meta"] = {"x": 1}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="sha256"):
        load_model(directory)


def test_unknown_format_rejected(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps({"format": "other", "format_version": 9}))
    with pytest.raises(ArtifactError, match="unsupported format"):
        read_manifest(tmp_path)


def test_object_arrays_are_refused(sims: Sims, tmp_path: Path) -> None:
    class Bad(Sims):
        def to_arrays(self):  # type: ignore[no-untyped-def]
            arrays, meta = super().to_arrays()
            arrays["bad"] = np.array([{"x": 1}], dtype=object)
            return arrays, meta

    bad = Bad(sims.items, sims.users, sims.indptr, sims.indices, sims.scores, sims.popularity)
    with pytest.raises(ArtifactError, match="object"):
        save_model(bad, tmp_path)


def test_export_neighbours_and_factors(sims: Sims, tiny_data: TrainingData, tmp_path: Path) -> None:
    out = export_model(save_model(sims, tmp_path / "models"), tmp_path / "export")
    table = pq.read_table(out / "neighbours.parquet").to_pydict()
    rows = [
        (n, r)
        for i, n, r in zip(table["item_id"], table["neighbour_item_id"], table["rank"], strict=True)
        if i == "A1"
    ]
    assert rows[0][1] == 1 and rows[0][0][0] == "A"
    items = pq.read_table(out / "items.parquet")
    assert items.column("item_id").to_pylist() == tiny_data.items.ids()
    assert "popularity" in items.column_names
    with np.load(out / "model.npz", allow_pickle=False) as npz:
        assert list(npz["item_ids"]) == tiny_data.items.ids()
    assert "neighbours.parquet" in (out / "README.md").read_text()

    affinity = ItemAffinity.train(
        tiny_data, validate("aws-item-affinity"), np.random.default_rng(0)
    )
    out2 = export_model(save_model(affinity, tmp_path / "models"), tmp_path / "export2")
    users = pq.read_table(out2 / "users.parquet")
    vectors = np.array(users.column("user_factors").to_pylist(), dtype=np.float32)
    np.testing.assert_allclose(vectors, affinity.user_factors)
    assert users.column("user_id").to_pylist() == tiny_data.users.ids()
