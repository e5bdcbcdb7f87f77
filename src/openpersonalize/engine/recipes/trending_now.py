"""aws-trending-now: the items whose interactions grew most between the last two intervals.

Time is cut into intervals of ``trend_discovery_frequency`` anchored at the newest training event
``anchor``: bucket ``k`` covers ``(anchor + (k-1)·f, anchor + k·f]``. At time ``now`` the trend is
measured on the two newest *complete* buckets, so the list changes once per interval, as
Personalize refreshes it. The growth of an item is ``count(latest) - count(previous)`` (AWS: the
difference between the latest and the previous time step). Items that grew rank first by growth
(ties: more interactions in the latest interval); all other items follow by their recent and then
overall popularity. With no interaction in either interval the list is plain popularity.

The model keeps per-item counts for the newest few buckets, so the serving layer can fold new
events (and new items) in with :meth:`TrendingNow.with_events` without retraining.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import (
    FloatArray,
    History,
    IntArray,
    JsonDict,
    Model,
    TrainingData,
)
from openpersonalize.engine.hyperparameters import TREND_DISCOVERY_FREQUENCIES, get_str
from openpersonalize.engine.recipes._common import as_index_array, broadcast, item_popularity

N_BUCKETS = 3  # the two newest complete intervals plus the one in progress


class TrendingNow(Model):
    recipe_name: ClassVar[str] = "aws-trending-now"
    recipe_type: ClassVar[str] = "POPULAR_ITEMS"

    def __init__(
        self,
        items: Vocabulary,
        users: Vocabulary,
        *,
        interval: float,
        anchor: float,
        newest_bucket: int,
        bucket_counts: FloatArray,
        popularity: FloatArray,
        reference_time: float,
    ) -> None:
        """``bucket_counts``: (N_BUCKETS, n_items) float32, row -1 is bucket ``newest_bucket``."""
        super().__init__(items, users)
        self.interval = float(interval)
        self.anchor = float(anchor)
        self.newest_bucket = int(newest_bucket)
        self.bucket_counts = bucket_counts
        self.popularity = popularity  # (n_items,) float32, all interactions ever seen
        self.reference_time = float(reference_time)  # newest event seen, epoch seconds
        self._cached: tuple[int, FloatArray] | None = None

    # --- training -------------------------------------------------------------------------

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> TrendingNow:
        frequency = get_str(hyperparameters, cls.recipe_name, "trend_discovery_frequency")
        interval = TREND_DISCOVERY_FREQUENCIES[frequency]
        anchor = float(data.timestamp.max()) if data.n_interactions else 0.0
        model = cls(
            data.items,
            data.users,
            interval=interval,
            anchor=anchor,
            newest_bucket=0,
            bucket_counts=np.zeros((N_BUCKETS, data.n_items), dtype=np.float32),
            popularity=item_popularity(data),
            reference_time=anchor,
        )
        model._add_to_buckets(data.item_idx, data.timestamp, data.weight)
        return model

    def bucket_of(self, timestamp: npt.NDArray[np.float64]) -> IntArray:
        """Bucket number of each timestamp: shape like ``timestamp``, int64."""
        return np.ceil((timestamp - self.anchor) / self.interval).astype(np.int64)

    def _add_to_buckets(
        self, item_idx: IntArray, timestamp: npt.NDArray[np.float64], weight: FloatArray
    ) -> None:
        buckets = self.bucket_of(timestamp)
        if buckets.size and int(buckets.max()) > self.newest_bucket:
            shift = int(buckets.max()) - self.newest_bucket
            rolled = np.zeros_like(self.bucket_counts)
            if shift < N_BUCKETS:
                rolled[: N_BUCKETS - shift] = self.bucket_counts[shift:]
            self.bucket_counts = rolled
            self.newest_bucket += shift
        row = buckets - (self.newest_bucket - N_BUCKETS + 1)
        keep = row >= 0
        np.add.at(self.bucket_counts, (row[keep], item_idx[keep]), weight[keep])
        self._cached = None

    # --- incremental update ---------------------------------------------------------------

    def with_events(
        self,
        item_ids: Sequence[str],
        timestamps: npt.ArrayLike,
        weights: npt.ArrayLike | None = None,
    ) -> TrendingNow:
        """A new model with the events folded in; items never seen before are appended.

        ``timestamps``: epoch seconds, shape (n,); ``weights``: shape (n,), 1.0 when omitted. The
        receiver is left unchanged (it may be serving), so the caller swaps the new one in.
        """
        ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        w = (
            np.ones(ts.shape[0], dtype=np.float32)
            if weights is None
            else np.asarray(weights, dtype=np.float32).reshape(-1)
        )
        if len(item_ids) != ts.shape[0] or w.shape[0] != ts.shape[0]:
            raise ValueError("item_ids, timestamps and weights must have the same length")
        items = self.items
        if any(item_id not in items for item_id in item_ids):
            items = Vocabulary(self.items.ids())
            for item_id in item_ids:
                items.add(item_id)
        n = len(items)
        counts = np.zeros((N_BUCKETS, n), dtype=np.float32)
        counts[:, : self.bucket_counts.shape[1]] = self.bucket_counts
        popularity = np.zeros(n, dtype=np.float32)
        popularity[: self.popularity.shape[0]] = self.popularity
        idx = items.indices(item_ids)
        np.add.at(popularity, idx, w)
        model = TrendingNow(
            items,
            self.users,
            interval=self.interval,
            anchor=self.anchor,
            newest_bucket=self.newest_bucket,
            bucket_counts=counts,
            popularity=popularity,
            reference_time=max(self.reference_time, float(ts.max()) if ts.size else -math.inf),
        )
        model._add_to_buckets(idx, ts, w)
        return model

    # --- scoring --------------------------------------------------------------------------

    def interval_counts(self, now: float) -> tuple[FloatArray, FloatArray]:
        """Per-item counts of the (previous, latest) complete interval at ``now``: (n_items,) ×2."""
        latest = math.floor((now - self.anchor) / self.interval)
        out = []
        for bucket in (latest - 1, latest):
            row = bucket - (self.newest_bucket - N_BUCKETS + 1)
            if 0 <= row < N_BUCKETS:
                out.append(self.bucket_counts[row])
            else:
                out.append(np.zeros(self.bucket_counts.shape[1], dtype=np.float32))
        return out[0], out[1]

    def scores_at(self, now: float | None = None) -> FloatArray:
        """Trend ranking at time ``now`` (default: the newest event seen).

        Shape (n_items,), float32: ranks from n_items (most trending) down to 1.
        """
        now = self.reference_time if now is None else float(now)
        latest_bucket = math.floor((now - self.anchor) / self.interval)
        if self._cached is not None and self._cached[0] == latest_bucket:
            return self._cached[1]
        previous, latest = self.interval_counts(now)
        scores = trend_ranking(previous, latest, self.popularity)
        self._cached = (latest_bucket, scores)
        return scores

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        return broadcast(self.scores_at(), len(histories))

    def score_related(self, item_idx: IntArray) -> FloatArray:
        return broadcast(self.scores_at(), as_index_array(item_idx).shape[0])

    # --- persistence ----------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        arrays = {"bucket_counts": self.bucket_counts, "popularity": self.popularity}
        meta: JsonDict = {
            "interval_seconds": self.interval,
            "anchor": self.anchor,
            "newest_bucket": self.newest_bucket,
            "reference_time": self.reference_time,
        }
        return arrays, meta

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> TrendingNow:
        return cls(
            items,
            users,
            interval=float(meta["interval_seconds"]),
            anchor=float(meta["anchor"]),
            newest_bucket=int(meta["newest_bucket"]),
            bucket_counts=np.asarray(arrays["bucket_counts"], dtype=np.float32),
            popularity=np.asarray(arrays["popularity"], dtype=np.float32),
            reference_time=float(meta["reference_time"]),
        )


def trend_ranking(previous: FloatArray, latest: FloatArray, popularity: FloatArray) -> FloatArray:
    """Rank items by growth ``latest - previous``; all inputs (n_items,), output float32 ranks.

    Growing items first (by growth, then latest count); the rest by recent activity, then overall
    popularity; the lowest index wins remaining ties. With both intervals empty this reduces to
    the popularity ranking.
    """
    n = popularity.shape[0]
    growth = latest.astype(np.float64) - previous.astype(np.float64)
    growing = growth > 0
    keys = (
        np.arange(n),
        -popularity.astype(np.float64),
        -(latest.astype(np.float64) + previous),
        -latest.astype(np.float64),
        -np.where(growing, growth, 0.0),
        -growing.astype(np.float64),
    )
    order = np.lexsort(keys)
    scores = np.empty(n, dtype=np.float32)
    scores[order] = np.arange(n, 0, -1, dtype=np.float32)
    return scores
