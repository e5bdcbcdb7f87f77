"""The public entry points: :func:`generate` (lazy, any size) and :func:`small` (in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa

from openpersonalize.datasets.catalog import Catalog, build_catalog
from openpersonalize.datasets.config import DEFAULT_END_TIMESTAMP, GeneratorConfig
from openpersonalize.datasets.interactions import interaction_batch
from openpersonalize.datasets.items import item_batch
from openpersonalize.datasets.presets import DATASET_NAMES, Preset, get_preset
from openpersonalize.datasets.users import users_batch

ITEM_ROWS_PER_BATCH = 65_536


@dataclass(frozen=True, eq=False)
class SyntheticDataset:
    """A generated dataset group, produced lazily RecordBatch by RecordBatch.

    Nothing but the item catalogue is held in memory: each call to :meth:`interactions` or
    :meth:`users` regenerates rows block by block from derived seeds, so iterating twice gives the
    same rows and ``chunk_users`` only decides how many blocks go into one RecordBatch.
    """

    preset: Preset
    config: GeneratorConfig
    chunk_users: int | None = None

    @cached_property
    def catalog(self) -> Catalog:
        return build_catalog(self.config, self.preset)

    @property
    def domain(self) -> str | None:
        """``ECOMMERCE``, ``VIDEO_ON_DEMAND`` or ``None`` for a custom dataset group."""
        return self.preset.domain

    @property
    def schemas(self) -> dict[str, str]:
        """Personalize Avro schema JSON per dataset name."""
        return {name: self.preset.avro_schema(name) for name in DATASET_NAMES}

    def arrow_schema(self, name: str) -> pa.Schema:
        return self.preset.arrow_schema(name)

    def batches(self, name: str) -> Iterator[pa.RecordBatch]:
        """RecordBatches of ``name`` (``interactions``, ``items`` or ``users``)."""
        if name == "interactions":
            return self.interactions()
        if name == "items":
            return self.items()
        if name == "users":
            return self.users()
        raise ValueError(f"unknown dataset {name!r}; expected one of {DATASET_NAMES}")

    def _block_groups(self) -> Iterator[range]:
        chunk = self.chunk_users or 1
        per_batch = max(1, -(-chunk // self.config.block_users))
        for first in range(0, self.config.n_blocks, per_batch):
            yield range(first, min(first + per_batch, self.config.n_blocks))

    def interactions(self) -> Iterator[pa.RecordBatch]:
        """Interactions, ``n_interactions`` rows in total, grouped by user."""
        for blocks in self._block_groups():
            parts = [interaction_batch(self.config, self.catalog, self.preset, b) for b in blocks]
            yield _concat(parts, self.arrow_schema("interactions"))

    def users(self) -> Iterator[pa.RecordBatch]:
        """Users, ``n_users`` rows in total."""
        for blocks in self._block_groups():
            parts = [users_batch(self.config, self.catalog, self.preset, b) for b in blocks]
            yield _concat(parts, self.arrow_schema("users"))

    def items(self) -> Iterator[pa.RecordBatch]:
        """Items, ``n_items`` rows in total."""
        n = self.config.n_items
        for start in range(0, n, ITEM_ROWS_PER_BATCH):
            yield item_batch(self.catalog, self.preset, start, min(start + ITEM_ROWS_PER_BATCH, n))

    def to_table(self, name: str) -> pa.Table:
        """The whole dataset ``name`` in memory; meant for small sizes."""
        return pa.Table.from_batches(list(self.batches(name)), schema=self.arrow_schema(name))


def _concat(parts: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    if len(parts) == 1:
        return parts[0]
    return pa.Table.from_batches(parts, schema=schema).combine_chunks().to_batches()[0]


def generate(
    preset: str,
    *,
    n_users: int,
    n_items: int,
    n_interactions: int,
    seed: int = 0,
    end_timestamp: int = DEFAULT_END_TIMESTAMP,
    days: int = 365,
    n_clusters: int = 12,
    popularity_skew: float = 1.0,
    taste_strength: float = 0.85,
    sequence_strength: float = 0.5,
    new_item_fraction: float = 0.2,
    trending_fraction: float = 0.05,
    session_probability: float = 0.3,
    chunk_users: int | None = None,
) -> SyntheticDataset:
    """A synthetic dataset group of ``preset`` (``custom``, ``ecommerce``, ``video_on_demand``).

    The same arguments always give the same rows, whatever ``chunk_users`` is: users per emitted
    RecordBatch, rounded up to whole internal blocks of about 32,768 events each (the default,
    ``None``, emits one RecordBatch per block). See docs/synthetic-data.md for the knobs.
    """
    if chunk_users is not None and chunk_users < 1:
        raise ValueError(f"chunk_users must be at least 1, got {chunk_users}")
    config = GeneratorConfig(
        n_users=n_users,
        n_items=n_items,
        n_interactions=n_interactions,
        seed=seed,
        end_timestamp=end_timestamp,
        days=days,
        n_clusters=n_clusters,
        popularity_skew=popularity_skew,
        taste_strength=taste_strength,
        sequence_strength=sequence_strength,
        new_item_fraction=new_item_fraction,
        trending_fraction=trending_fraction,
        session_probability=session_probability,
    )
    return SyntheticDataset(get_preset(preset), config, chunk_users)


@dataclass(frozen=True, eq=False)
class SyntheticTables:
    """A small generated dataset group held in memory."""

    preset: str
    domain: str | None
    interactions: pa.Table
    items: pa.Table
    users: pa.Table
    schemas: dict[str, str]

    def tables(self) -> dict[str, pa.Table]:
        return {"interactions": self.interactions, "items": self.items, "users": self.users}


def small(
    preset: str,
    seed: int = 0,
    *,
    n_users: int = 1_000,
    n_items: int = 1_000,
    n_interactions: int = 20_000,
) -> SyntheticTables:
    """A dataset group for fast tests, in memory.

    The defaults meet Personalize's minimums: every dataset has at least 1,000 records (the minimum
    of one import job) and every user has at least two interactions.
    """
    dataset = generate(
        preset, n_users=n_users, n_items=n_items, n_interactions=n_interactions, seed=seed
    )
    return SyntheticTables(
        preset=dataset.preset.name,
        domain=dataset.domain,
        interactions=dataset.to_table("interactions"),
        items=dataset.to_table("items"),
        users=dataset.to_table("users"),
        schemas=dataset.schemas,
    )
