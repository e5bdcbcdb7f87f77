"""Model artifacts: ``model.npz`` + ``manifest.json`` in a content-addressed directory.

A saved model is inert data: the arrays of :meth:`Model.to_arrays` plus the item and user
vocabularies (unicode arrays ``__items__`` / ``__users__``) in one ``npz`` written with
``np.savez`` and read with ``allow_pickle=False``, and a JSON manifest (recipe, format version,
array names / shapes / dtypes, the model's meta, the training parameters and a SHA-256 over the
array contents and the manifest fields). The directory is named after that hash, written under a
temporary name and renamed into place, so readers never see half a model; files are read-only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import JsonDict, Model

FORMAT = "openpersonalize-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "model.npz"
ITEMS_KEY = "__items__"
USERS_KEY = "__users__"


class ArtifactError(Exception):
    """A model directory is missing, corrupt or of an unknown format."""


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _check_array(name: str, array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise ArtifactError(f"array {name!r} has dtype object; artifacts never hold pickles")
    return np.ascontiguousarray(array)


def content_hash(arrays: Mapping[str, np.ndarray], header: JsonDict) -> str:
    """SHA-256 over the header (canonical JSON) and every array's name, dtype, shape and bytes."""
    digest = hashlib.sha256()
    digest.update(_canonical_json(header))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(_canonical_json([name, array.dtype.str, list(array.shape)]))
        digest.update(array.tobytes())
    return digest.hexdigest()


def _header(model: Model, meta: JsonDict, training_parameters: Mapping[str, str]) -> JsonDict:
    cls = type(model)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recipe_name": cls.recipe_name,
        "recipe_type": cls.recipe_type,
        "model_class": f"{cls.__module__}:{cls.__qualname__}",
        "meta": meta,
        "training_parameters": dict(training_parameters),
    }


def save_model(
    model: Model, root: str | os.PathLike[str], training_parameters: Mapping[str, str] | None = None
) -> Path:
    """Write ``model`` under ``root/<sha256[:32]>`` and return that directory.

    Saving the same model twice returns the existing directory (same content, same name).
    """
    root_path = Path(root)
    root_path.mkdir(parents=True, exist_ok=True)
    model_arrays, meta = model.to_arrays()
    arrays: dict[str, np.ndarray] = {}
    for name, array in model_arrays.items():
        if name in (ITEMS_KEY, USERS_KEY):
            raise ArtifactError(f"array name {name!r} is reserved")
        arrays[name] = _check_array(name, array)
    arrays[ITEMS_KEY] = model.items.to_array()
    arrays[USERS_KEY] = model.users.to_array()
    header = _header(model, meta, training_parameters or {})
    json.dumps(header)  # fail early on meta that is not JSON-able
    digest = content_hash(arrays, header)
    manifest = dict(header)
    manifest["arrays"] = {
        name: {"dtype": a.dtype.str, "shape": list(a.shape)} for name, a in sorted(arrays.items())
    }
    manifest["sha256"] = digest
    final = root_path / digest[:32]
    if (final / MANIFEST).is_file():
        return final
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root_path))
    try:
        with open(staging / ARRAYS, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        with open(staging / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        for path in (staging / ARRAYS, staging / MANIFEST):
            path.chmod(0o444)
        staging.chmod(0o755)
        try:
            os.rename(staging, final)
        except OSError:
            if (final / MANIFEST).is_file():  # a concurrent writer won with the same content
                shutil.rmtree(staging, ignore_errors=True)
                return final
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def read_manifest(model_dir: str | os.PathLike[str]) -> JsonDict:
    path = Path(model_dir) / MANIFEST
    try:
        manifest: JsonDict = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"no {MANIFEST} in {model_dir}") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: unsupported format {manifest.get('format')!r} "
            f"version {manifest.get('format_version')!r}"
        )
    return manifest


def load_arrays(
    model_dir: str | os.PathLike[str], *, verify: bool = True
) -> tuple[JsonDict, dict[str, np.ndarray]]:
    """The manifest and all arrays (read-only), checked against the manifest and its hash."""
    manifest = read_manifest(model_dir)
    with np.load(Path(model_dir) / ARRAYS, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    expected = manifest.get("arrays", {})
    if set(expected) != set(arrays):
        raise ArtifactError(f"{model_dir}: arrays {sorted(arrays)} differ from the manifest")
    for name, array in arrays.items():
        spec = expected[name]
        if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
            raise ArtifactError(f"{model_dir}: array {name!r} does not match the manifest")
        array.setflags(write=False)
    if verify:
        header = {
            k: manifest[k]
            for k in (
                "format",
                "format_version",
                "recipe_name",
                "recipe_type",
                "model_class",
                "meta",
                "training_parameters",
            )
        }
        if content_hash(arrays, header) != manifest.get("sha256"):
            raise ArtifactError(f"{model_dir}: content does not match its sha256")
    return manifest, arrays


def load_model(model_dir: str | os.PathLike[str], *, verify: bool = True) -> Model:
    """Load a saved model; its arrays are read-only views, so a shared model cannot be mutated."""
    from openpersonalize.engine.recipes import RecipeNotAvailable, get_recipe

    manifest, arrays = load_arrays(model_dir, verify=verify)
    items = Vocabulary.from_array(arrays.pop(ITEMS_KEY))
    users = Vocabulary.from_array(arrays.pop(USERS_KEY))
    try:
        cls = get_recipe(str(manifest["recipe_name"]))
    except RecipeNotAvailable as exc:
        raise ArtifactError(str(exc)) from None
    return cls.from_arrays(arrays, dict(manifest["meta"]), items, users)


def export_model(model_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Write a saved model in user-friendly formats (npz and Parquet, with a README.md).

    See ``docs/model-export.md``; implemented in :mod:`openpersonalize.engine.model_export`.
    """
    from openpersonalize.engine.model_export import export_model as _export

    return _export(model_dir, out_dir)
