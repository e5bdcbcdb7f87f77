"""Export a saved model for people and other tools: ids beside vectors, neighbour lists as rows.

Every array of a model is classified by shape (and name) against its vocabularies:

- ``<p>_indptr`` / ``<p>_indices`` / ``<p>_scores`` with ``indptr`` of length n_items + 1:
  neighbour lists → ``<p>.parquet`` rows (item_id, rank, neighbour_item_id, score);
- 2-D float arrays with one row per item (or per user, names containing ``user`` first) →
  vector columns (fixed-size lists of float32) in ``items.parquet`` / ``users.parquet``;
- 1-D arrays with one value per item / user → plain columns in the same tables;
- anything else stays in ``model.npz`` only.

``model.npz`` holds every array under its own name plus ``item_ids`` / ``user_ids``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from openpersonalize.engine.artifacts import ITEMS_KEY, MANIFEST, USERS_KEY, load_arrays


def _column(array: np.ndarray) -> pa.Array:
    if array.ndim == 2:
        width = int(array.shape[1])
        flat = pa.array(np.ascontiguousarray(array, dtype=np.float32).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, width)
    return pa.array(array)


def export_model(model_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    manifest, arrays = load_arrays(model_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    item_ids = np.asarray(arrays.pop(ITEMS_KEY)).astype(str)
    user_ids = np.asarray(arrays.pop(USERS_KEY)).astype(str)
    n_items, n_users = item_ids.shape[0], user_ids.shape[0]

    described: list[str] = []
    item_cols: dict[str, np.ndarray] = {}
    user_cols: dict[str, np.ndarray] = {}
    used: set[str] = set()
    for name, indptr in sorted(arrays.items()):
        if not name.endswith("_indptr"):
            continue
        prefix = name[: -len("_indptr")]
        indices = arrays.get(f"{prefix}_indices")
        scores = arrays.get(f"{prefix}_scores")
        if indices is None or scores is None or indptr.shape != (n_items + 1,):
            continue
        counts = np.diff(indptr)
        source = np.repeat(np.arange(n_items), counts)
        rank = np.arange(indices.shape[0]) - np.repeat(indptr[:-1], counts) + 1
        table = pa.table(
            {
                "item_id": pa.array(item_ids[source]),
                "rank": pa.array(rank.astype(np.int32)),
                "neighbour_item_id": pa.array(item_ids[indices]),
                "score": pa.array(scores.astype(np.float32)),
            }
        )
        pq.write_table(table, out / f"{prefix}.parquet")
        used.update({name, f"{prefix}_indices", f"{prefix}_scores"})
        described.append(
            f"- `{prefix}.parquet`: neighbour lists, one row per (item, neighbour): `item_id`, "
            "`rank` (1 = best), `neighbour_item_id`, `score` (float32, higher is closer)."
        )

    for name, array in sorted(arrays.items()):
        if name in used or array.ndim not in (1, 2) or array.dtype.kind not in "fiub":
            continue
        user_first = "user" in name.lower()
        for target, n, cols in (
            (("users", n_users, user_cols), ("items", n_items, item_cols))
            if user_first
            else (("items", n_items, item_cols), ("users", n_users, user_cols))
        ):
            del target
            if array.shape[0] == n and n > 0:
                cols[name] = array
                used.add(name)
                break

    for label, ids, cols in (("items", item_ids, item_cols), ("users", user_ids, user_cols)):
        key = "item_id" if label == "items" else "user_id"
        table = pa.table({key: pa.array(ids), **{n: _column(a) for n, a in sorted(cols.items())}})
        pq.write_table(table, out / f"{label}.parquet")
        listing = ", ".join(
            f"`{n}` ({'vector of ' + str(a.shape[1]) + ' float32' if a.ndim == 2 else a.dtype})"
            for n, a in sorted(cols.items())
        )
        described.append(
            f"- `{label}.parquet`: one row per {label[:-1]}, index order: `{key}`"
            + (f", {listing}" if listing else "")
            + "."
        )

    np.savez(out / "model.npz", item_ids=item_ids, user_ids=user_ids, **arrays)  # type: ignore[arg-type]
    shutil.copyfile(Path(model_dir) / MANIFEST, out / MANIFEST)
    (out / MANIFEST).chmod(0o644)
    others = sorted(set(arrays) - used)
    lines = [
        f"# {manifest['recipe_name']} model export",
        "",
        f"Recipe type {manifest['recipe_type']}; {n_items} items, {n_users} users; "
        f"content sha256 `{manifest['sha256']}`.",
        "",
        "Files:",
        "",
        "- `model.npz`: every model array by name, plus `item_ids` / `user_ids` (unicode): row "
        "`i` of an item array belongs to `item_ids[i]`. Load with "
        "`numpy.load(path, allow_pickle=False)`.",
        *described,
        "- `manifest.json`: the artifact manifest (recipe, parameters, array shapes, hash).",
        "",
        "Model meta: `" + json.dumps(manifest.get("meta", {}), sort_keys=True) + "`.",
    ]
    if others:
        lines += ["", "Arrays only in model.npz: " + ", ".join(f"`{n}`" for n in others) + "."]
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
