"""Rows of the Items data set, names and descriptions included, built column-wise with Arrow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.datasets.catalog import Catalog
from openpersonalize.datasets.presets import Preset
from openpersonalize.datasets.vocabularies import BRANDS, COLORS, DEPARTMENTS, GENRES

I64 = npt.NDArray[np.int64]


def _pick(groups: Sequence[Sequence[str]], group: I64, word: npt.NDArray[np.uint16]) -> pa.Array:
    """For each row, word ``word % len(list)`` of the list ``groups[group]``."""
    flat = pa.array([w for g in groups for w in g], pa.string())
    lengths = np.array([len(g) for g in groups], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return flat.take(pa.array(offsets[group] + word.astype(np.int64) % lengths[group]))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "", null_handling="skip")


def _shop_text(catalog: Catalog, rows: I64) -> tuple[pa.Array, pa.Array]:
    departments = {d.name: d for d in DEPARTMENTS}
    leaf_nouns = {(d.name, leaf): nouns for d in DEPARTMENTS for leaf, nouns in d.leaves}
    dept_of_cat = [departments[p] for p in catalog.leaf_parents]
    cat = catalog.category[rows]
    w = catalog.words[rows]
    adjective = _pick([d.adjectives for d in dept_of_cat], cat, w[:, 0])
    noun = _pick(
        [
            leaf_nouns[(p, leaf)]
            for p, leaf in zip(catalog.leaf_parents, catalog.leaf_names, strict=True)
        ],
        cat,
        w[:, 1],
    )
    color = _pick([COLORS], np.zeros_like(cat), w[:, 2])
    brand = _pick([BRANDS], np.zeros_like(cat), w[:, 3])
    material = _pick([d.materials for d in dept_of_cat], cat, w[:, 4])
    feature = _pick([d.features for d in dept_of_cat], cat, w[:, 5])
    use = _pick([d.uses for d in dept_of_cat], cat, w[:, 6])
    name = _join(brand, " ", adjective, " ", pc.utf8_title(color), " ", noun)
    description = _join(
        adjective, " ", color, " ", pc.utf8_lower(noun), " by ", brand, ", made from ", material,
        ". ", feature, ". Perfect for ", use, ".",
    )  # fmt: skip
    return name, description


def _film_text(catalog: Catalog, rows: I64) -> tuple[pa.Array, pa.Array, pa.Array]:
    genres = {g.name: g for g in GENRES}
    genre_of_cat = [genres[name] for name in catalog.leaf_names]
    cat = catalog.category[rows]
    w = catalog.words[rows]
    adjective = _pick([g.adjectives for g in genre_of_cat], cat, w[:, 0])
    noun = _pick([g.nouns for g in genre_of_cat], cat, w[:, 1])
    other_noun = _pick([g.nouns for g in genre_of_cat], cat, w[:, 1] + 1)
    the_adj_noun = _join("The ", adjective, " ", noun)
    noun_of_the = _join(noun, " of the ", adjective, " ", other_noun)
    title = pc.if_else(pa.array(w[:, 2] % 3 == 0), noun_of_the, the_adj_noun)
    subject = _pick([g.subjects for g in genre_of_cat], cat, w[:, 3])
    plot = _pick([g.plots for g in genre_of_cat], cat, w[:, 4])
    setting = _pick([g.settings for g in genre_of_cat], cat, w[:, 5])
    tone = _pick([(g.tone,) for g in genre_of_cat], cat, w[:, 0])
    kind = _pick([(g.name.lower(),) for g in genre_of_cat], cat, w[:, 0])
    description = _join(subject, " ", plot, " ", setting, ". A ", tone, " ", kind, " film.")

    # GENRES: the primary genre, then zero to two of its related genres.
    n_extra = np.searchsorted(np.array([8, 15]), w[:, 6] % 20, side="right")
    first = _pick([g.related for g in genre_of_cat], cat, w[:, 5])
    second = _pick([g.related for g in genre_of_cat], cat, w[:, 5] + 1)
    primary = pa.array(catalog.leaf_names, pa.string()).take(pa.array(cat))
    first = pc.if_else(pa.array(n_extra >= 1), first, pa.scalar(None, pa.string()))
    second = pc.if_else(pa.array(n_extra >= 2), second, pa.scalar(None, pa.string()))
    all_genres = pc.binary_join_element_wise(primary, first, second, "|", null_handling="skip")
    return title, description, all_genres


def item_batch(catalog: Catalog, preset: Preset, start: int, stop: int) -> pa.RecordBatch:
    """Items ``[start, stop)`` as a RecordBatch with the preset's Items schema."""
    rows = np.arange(start, stop, dtype=np.int64)
    cat = pa.array(catalog.category[rows])
    columns: dict[str, pa.Array] = {
        "item_id": catalog.item_ids.slice(start, stop - start),
        "price": pa.array(catalog.price[rows]),
        "created": pa.array(catalog.created[rows]),
        "duration": pa.array(catalog.duration[rows]),
        "category_l1": pa.array(catalog.leaf_parents, pa.string()).take(cat),
        "category_l2": pa.array(catalog.leaf_names, pa.string()).take(cat),
    }
    if preset.catalog == "shop":
        columns["name"], columns["description"] = _shop_text(catalog, rows)
    else:
        columns["name"], columns["description"], columns["genres"] = _film_text(catalog, rows)
    schema = preset.arrow_schema("items")
    return pa.RecordBatch.from_arrays(
        [columns[f.role].cast(schema.field(f.name).type) for f in preset.items], schema=schema
    )
