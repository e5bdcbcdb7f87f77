"""Generator knobs and the seeding scheme.

Randomness is split into independent streams, one per purpose and per block of users, each with a
generator derived from ``(seed, stream, block)``. A block's rows therefore depend only on the seed,
the knobs and the block index, never on how many blocks are emitted per RecordBatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Stream identifiers of the seeding scheme; changing one changes every data set generated.
STREAM_CATALOG = 1
STREAM_USERS = 2
STREAM_INTERACTIONS = 3

DAY = 86_400
DEFAULT_END_TIMESTAMP = 1_767_225_600  # 2026-01-01T00:00:00Z
TARGET_EVENTS_PER_BLOCK = 32_768


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that determines a generated data set, besides the preset."""

    n_users: int
    n_items: int
    n_interactions: int
    seed: int = 0
    end_timestamp: int = DEFAULT_END_TIMESTAMP
    days: int = 365
    n_clusters: int = 12
    popularity_skew: float = 1.0
    taste_strength: float = 0.85
    sequence_strength: float = 0.5
    new_item_fraction: float = 0.2
    trending_fraction: float = 0.05
    session_probability: float = 0.3
    n_epochs: int = 12

    def __post_init__(self) -> None:
        for name in ("n_users", "n_items", "n_clusters", "days", "n_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_interactions < 0:
            raise ValueError(f"n_interactions must be non-negative, got {self.n_interactions}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        for name in (
            "taste_strength",
            "sequence_strength",
            "new_item_fraction",
            "trending_fraction",
            "session_probability",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if self.popularity_skew < 0:
            raise ValueError(f"popularity_skew must be non-negative, got {self.popularity_skew}")

    @property
    def start_timestamp(self) -> int:
        return self.end_timestamp - self.days * DAY

    @property
    def block_users(self) -> int:
        """Users per block: a power of two giving roughly ``TARGET_EVENTS_PER_BLOCK`` events."""
        per_user = max(self.n_interactions, 1) / self.n_users
        exponent = round(math.log2(max(TARGET_EVENTS_PER_BLOCK / per_user, 1.0)))
        return int(min(1 << exponent, 1 << 20))

    @property
    def n_blocks(self) -> int:
        return -(-self.n_users // self.block_users)

    def block_range(self, block: int) -> tuple[int, int]:
        """``[first, stop)`` user indices of ``block``."""
        first = block * self.block_users
        return first, min(first + self.block_users, self.n_users)

    def block_interactions(self, block: int) -> int:
        """Events of ``block``: an exact share of ``n_interactions`` proportional to its users."""
        first, stop = self.block_range(block)
        n, u = self.n_interactions, self.n_users
        return n * stop // u - n * first // u

    def rng(self, stream: int, block: int = 0) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, stream, block]))
