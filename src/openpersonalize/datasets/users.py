"""Users: a taste cluster each, metadata that correlates with it, and an activity level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.datasets.catalog import Catalog
from openpersonalize.datasets.config import DAY, STREAM_USERS, GeneratorConfig
from openpersonalize.datasets.presets import Preset

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Higher tiers are more active: relative activity of each tier, lowest first.
TIER_ACTIVITY = np.array([1.0, 1.5, 2.5])


@dataclass(frozen=True, eq=False)
class UserBlock:
    """Users ``[first, first + len(cluster))``; every array has one entry per user."""

    first: int
    cluster: I64
    age: npt.NDArray[np.int32]
    female: npt.NDArray[np.bool_]
    tier: I64
    activity: F64  # relative share of the block's events
    active_from: F64  # epoch seconds of the user's first day
    active_for: F64  # seconds over which the user's sessions spread

    @property
    def user_ids(self) -> pa.StringArray:
        ids = np.arange(self.first + 1, self.first + len(self.cluster) + 1)
        return pc.cast(pa.array(ids), pa.string())


def user_block(config: GeneratorConfig, catalog: Catalog, preset: Preset, block: int) -> UserBlock:
    rng = config.rng(STREAM_USERS, block)
    first, stop = config.block_range(block)
    m = stop - first
    cluster = rng.choice(len(catalog.cluster_probs), m, p=catalog.cluster_probs).astype(np.int64)
    age = np.clip(np.rint(rng.normal(catalog.cluster_age[cluster], 9.0)), 18, 80).astype(np.int32)
    female = rng.random(m) < catalog.cluster_female[cluster]
    tier = rng.choice(len(preset.tiers), m, p=np.array(preset.tier_probs)).astype(np.int64)
    activity = rng.lognormal(0.0, 1.0, m) * TIER_ACTIVITY[np.minimum(tier, len(TIER_ACTIVITY) - 1)]
    span = float(config.days * DAY)
    active_from = config.start_timestamp + 0.9 * span * rng.random(m)
    active_for = (config.end_timestamp - active_from) * rng.uniform(0.3, 1.0, m)
    return UserBlock(first, cluster, age, female, tier, activity, active_from, active_for)


def users_batch(
    config: GeneratorConfig, catalog: Catalog, preset: Preset, block: int
) -> pa.RecordBatch:
    """The Users rows of ``block`` with the preset's Users schema."""
    users = user_block(config, catalog, preset, block)
    columns = {
        "user_id": users.user_ids,
        "age": pa.array(users.age),
        "gender": pa.array(np.where(users.female, "F", "M")).cast(pa.string()),
        "tier": pa.array(preset.tiers, pa.string()).take(pa.array(users.tier)),
    }
    schema = preset.arrow_schema("users")
    return pa.RecordBatch.from_arrays(
        [columns[f.role].cast(schema.field(f.name).type) for f in preset.users], schema=schema
    )
