"""The item catalogue and the taste clusters: everything shared by all users, built once.

Items are drawn into leaf categories (a shop's ``CATEGORY_L2`` or a film's primary genre) with a
Zipf-like base popularity. Time is cut into ``n_epochs`` equal epochs; an item can be drawn in an
epoch only once it exists, trending items gain weight towards the end and new items get a short
novelty boost. Sampling an item of category ``c`` in epoch ``e`` is one ``searchsorted`` in a flat
table of cumulative weights keyed by ``e * n_categories + c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.datasets.config import DAY, STREAM_CATALOG, GeneratorConfig
from openpersonalize.datasets.presets import Preset
from openpersonalize.datasets.vocabularies import DEPARTMENTS, GENRES

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

SUCCESSORS = 3
SUCCESSOR_CUMPROBS = np.array([0.6, 0.85, 1.0])  # how often each successor slot is the next item
SAME_CATEGORY_SUCCESSOR = 0.7  # else the successor comes from the category's partner category
_U_MAX = 1.0 - 1e-9  # keeps key + u below the next key in float64
_TEXT_SLOTS = 7


@dataclass(frozen=True, eq=False)
class Catalog:
    """Arrays describing items (length ``n_items``) and clusters (length ``n_clusters``)."""

    n_categories: int
    leaf_names: tuple[str, ...]  # per category: CATEGORY_L2 or genre
    leaf_parents: tuple[str, ...]  # per category: CATEGORY_L1 (shop) or the genre again
    category: I64  # (n_items,) category of each item
    by_category: I64  # (n_items,) item indices ordered by category
    created: I64  # (n_items,) CREATION_TIMESTAMP, epoch seconds
    price: npt.NDArray[np.float32]
    duration: npt.NDArray[np.float32]
    words: npt.NDArray[np.uint16]  # (n_items, 7) random picks for the text templates
    item_cdf: F64  # (n_epochs * n_items,) keyed cumulative weights, see module docstring
    successors: I64  # (n_items, SUCCESSORS) likely next items
    cluster_probs: F64  # (n_clusters,)
    cluster_cdf: F64  # (n_clusters * n_categories,) keyed cumulative category preferences
    cluster_age: F64  # (n_clusters,) mean age of a cluster's users
    cluster_female: F64  # (n_clusters,) share of GENDER=F
    item_ids: pa.StringArray

    @property
    def n_items(self) -> int:
        return len(self.category)

    def sample_items(self, epoch: I64, category: I64, u: F64) -> I64:
        """Items drawn by weight within ``category`` as of ``epoch``; ``u`` uniform in [0, 1)."""
        query = epoch * self.n_categories + category + np.minimum(u, _U_MAX)
        # Sorted queries let the binary search reuse its last position: about twice as fast.
        order = np.argsort(query)
        pos = np.empty(len(query), dtype=np.int64)
        pos[order] = np.searchsorted(self.item_cdf, query[order], side="right")
        pos = np.minimum(pos, len(self.item_cdf) - 1) - epoch * self.n_items
        return self.by_category[pos]

    def sample_categories(self, cluster: I64, u: F64) -> I64:
        """Categories drawn from each cluster's preferences; ``u`` uniform in [0, 1)."""
        pos = np.searchsorted(self.cluster_cdf, cluster + np.minimum(u, _U_MAX), side="right")
        pos = np.minimum(pos, len(self.cluster_cdf) - 1)
        return pos - cluster * self.n_categories


def _keyed_cdf(weights: F64, groups: I64, n_groups: int) -> F64:
    """Cumulative ``weights`` (rows × n, columns sorted by ``groups``) normalised per group.

    Row ``r``, group ``g`` occupies values in ``(k, k + 1]`` with ``k = r * n_groups + g``; an item
    of zero weight repeats its predecessor's value so ``searchsorted(side="right")`` skips it.
    """
    rows, n = weights.shape
    starts = np.searchsorted(groups, np.arange(n_groups))
    ends = np.append(starts[1:], n)
    cum = np.cumsum(weights, axis=1)
    padded = np.concatenate([np.zeros((rows, 1)), cum], axis=1)
    before = padded[:, starts][:, groups]
    total = (padded[:, ends] - padded[:, starts])[:, groups]
    frac = np.divide(cum - before, total, out=np.ones_like(cum), where=total > 0)
    frac[:, ends[ends > starts] - 1] = 1.0
    keys = np.arange(rows)[:, None] * n_groups + groups[None, :]
    table: F64 = (keys + np.clip(frac, 0.0, 1.0)).ravel()
    return table


def build_catalog(config: GeneratorConfig, preset: Preset) -> Catalog:
    rng = config.rng(STREAM_CATALOG)
    n = config.n_items
    if preset.catalog == "shop":
        leaves = [(d.name, leaf) for d in DEPARTMENTS for leaf, _ in d.leaves]
    else:
        leaves = [(g.name, g.name) for g in GENRES]
    n_categories = min(len(leaves), n)
    chosen = np.sort(rng.choice(len(leaves), size=n_categories, replace=False))
    leaf_index = chosen.astype(np.int64)

    shares = rng.dirichlet(np.full(n_categories, 3.0))
    category = np.concatenate(
        [np.arange(n_categories), rng.choice(n_categories, n - n_categories, p=shares)]
    )
    category = rng.permutation(category).astype(np.int64)
    by_category = np.argsort(category, kind="stable").astype(np.int64)
    sorted_category = category[by_category]
    first_of_category = by_category[np.searchsorted(sorted_category, np.arange(n_categories))]

    start, span = config.start_timestamp, config.days * DAY
    is_new = rng.random(n) < config.new_item_fraction
    is_new[first_of_category] = False  # every category has an item on day one
    created = np.where(
        is_new,
        start + rng.integers(0, span, n),
        start - rng.integers(DAY, 3 * 365 * DAY, n),
    ).astype(np.int64)

    base = (rng.permutation(n) + 1.0) ** -config.popularity_skew
    epochs = config.n_epochs
    epoch_start = start + span * np.arange(epochs) / epochs
    weights = base[None, :] * (created[None, :] <= epoch_start[:, None])
    created_epoch = np.floor((created - start) * epochs / span)
    age = np.arange(epochs)[:, None] - created_epoch[None, :]
    weights *= np.where(is_new[None, :] & (age >= 0), 1.0 + 2.0 * np.exp(-age / 2.0), 1.0)
    trending = rng.random(n) < config.trending_fraction
    onset = rng.uniform(0.3, 0.8, n)
    growth = rng.uniform(np.log(4.0), np.log(30.0), n)
    progress = np.clip(
        (np.arange(epochs)[:, None] / max(epochs - 1, 1) - onset) / (1 - onset), 0, 1
    )
    weights *= np.where(trending[None, :], np.exp(growth * progress), 1.0)
    item_cdf = _keyed_cdf(weights[:, by_category].astype(np.float64), sorted_category, n_categories)

    # Successors come from items existing on day one, flattened by a square root so that they are
    # not simply the most popular items of the category.
    successor_cdf = _keyed_cdf(
        (np.sqrt(base) * ~is_new)[None, by_category].astype(np.float64),
        sorted_category,
        n_categories,
    )
    partner = np.arange(n_categories) + 1 + rng.integers(0, max(n_categories - 1, 1), n_categories)
    partner %= n_categories
    slot_category = np.where(
        rng.random((n, SUCCESSORS)) < SAME_CATEGORY_SUCCESSOR,
        category[:, None],
        partner[category][:, None],
    )
    u = rng.random((n, SUCCESSORS))
    successors = np.arange(n)[:, None].repeat(SUCCESSORS, axis=1)
    for _ in range(4):  # redraw self-loops; the few left after that are harmless re-visits
        again = successors == np.arange(n)[:, None]
        pos = np.searchsorted(successor_cdf, slot_category[again] + u[again], side="right")
        successors[again] = by_category[np.minimum(pos, n - 1)]
        u = (u + 0.381966) % _U_MAX

    n_clusters = config.n_clusters
    cluster_probs = rng.dirichlet(np.full(n_clusters, 2.0))
    affinity = rng.dirichlet(np.full(n_categories, 0.15), size=n_clusters)
    category_share = np.bincount(category, minlength=n_categories) / n
    prefs = config.taste_strength * affinity + (1 - config.taste_strength) * category_share
    cluster_cdf = _keyed_cdf(
        prefs.reshape(1, -1),
        np.repeat(np.arange(n_clusters), n_categories),
        n_clusters,
    )

    leaf_price = np.exp(rng.uniform(np.log(8.0), np.log(400.0), n_categories))
    if preset.catalog == "shop":
        raw = leaf_price[category] * rng.lognormal(0.0, 0.35, n)
        price = (np.floor(raw) + 0.99).astype(np.float32)
    else:
        price = rng.choice(np.array([0.0, 0.0, 2.99, 3.99, 4.99], np.float32), n)
    minutes = np.array([GENRES[i].minutes if preset.catalog == "films" else 0 for i in leaf_index])
    duration = np.maximum(minutes[category] + rng.normal(0, 12, n), 60).round().astype(np.float32)

    return Catalog(
        n_categories=n_categories,
        leaf_names=tuple(leaves[i][1] for i in leaf_index),
        leaf_parents=tuple(leaves[i][0] for i in leaf_index),
        category=category,
        by_category=by_category,
        created=created,
        price=price,
        duration=duration,
        words=rng.integers(0, 1 << 16, (n, _TEXT_SLOTS), dtype=np.uint16),
        item_cdf=item_cdf,
        successors=successors.astype(np.int64),
        cluster_probs=cluster_probs,
        cluster_cdf=cluster_cdf,
        cluster_age=rng.uniform(22.0, 60.0, n_clusters),
        cluster_female=rng.beta(2.0, 2.0, n_clusters),
        item_ids=pc.cast(pa.array(np.arange(1, n + 1)), pa.string()),
    )
