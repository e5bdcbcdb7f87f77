"""aws-user-personalization: a recency- and sequence-aware collaborative model.

The score of item ``i`` for a user with history ``h`` (oldest first) blends four parts, each
normalised per user to a maximum of 1:

- collaborative: EASE (Steck 2019, closed form item×item weights) applied to the recency-weighted
  history; for catalogues too large for an item×item inverse, implicit ALS with
  ``hidden_dimension`` factors and the history folded in by one least-squares solve;
- sequence: a short-window item→next-item transition model over the newest ``bptt`` events
  (what the user did last predicts what comes next);
- repeat: the user's own recent items times a learned per-item repeat propensity — a negative
  weight means "people do not come back to what they had", learned per data set;
- popularity: time-decayed popularity, which alone ranks for users without history.

Blend weights and decays are chosen in :meth:`train` on a validation split of the training users
(never the test users), then every part is refitted on all training data. Scoring folds the
request's newest events in directly from the :class:`History`: no per-user state is learned, so
real-time events change the next response without retraining.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import FloatArray, History, IntArray, JsonDict, Model, TrainingData
from openpersonalize.engine.evaluate import single_blas_thread, top_k
from openpersonalize.engine.metrics import ranking_metrics
from openpersonalize.engine.objective import ItemObjective
from openpersonalize.engine.recipes._factors import fit_ease, fit_ials, fold_in
from openpersonalize.engine.split import validation_split

# Item×item EASE is used up to this many items (most popular first); above it the catalogue goes
# to implicit ALS. n³ flops: 3,500 items ≈ 1 s on two idle cores.
EASE_MAX_ITEMS = 3500
PROBE_EASE_MAX_ITEMS = 2500
EASE_MIN_COVERAGE = 0.8  # share of user-item pairs the EASE items must cover, else iALS
EASE_L2_SCALE = 8.0  # EASE L2 = scale × mean users per item
WARM_ALS_ITERATIONS = 3  # final iALS iterations when warm-started from the tuning probe
TRANSITION_WINDOW = 3  # next-item pairs up to this many distinct steps apart
MIN_VALIDATION_USERS = 20
VALIDATION_USERS = 300
# Above this many items, tuning ranks only among the popular items and each user's candidates.
TUNING_ITEMS = 10_000
TUNING_PER_USER = 50
TUNING_CELLS = 1 << 24  # validation users × items per dense blend part while tuning (64 MiB)
# Fractions of the training time span; 0 = all-time; LOCAL = popularity around the time of the
# user's newest event (time bins), which for a live user is "what is popular now".
LOCAL = -1.0
POPULARITY_HALF_LIVES = (0.0, 0.1, 0.02)
TIME_BINS = 16
BoolArray = npt.NDArray[np.bool_]


def parse_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


@dataclass
class Blend:
    """The tuned mixing parameters (JSON-able)."""

    collaborative: float = 1.0
    sequence: float = 1.0
    repeat: float = 0.0
    seen: float = -0.3  # weight of "already in the history" (negative ≈ exclude seen items)
    popularity: float = 0.05
    metadata: float = 0.0
    history_decay: float = 0.98  # per-event weight decay of the history, newest = 1
    repeat_decay: float = 0.8
    sequence_decay: float = 0.6
    popularity_half_life: float = 0.1  # fraction of the training time span; 0 = no decay; -1 local

    def to_json(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Blend:
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in raw.items() if k in names})


# ----------------------------------------------------------------------------------------------
# Fitting the parts


def _user_item_matrix(data: TrainingData, cols: IntArray | None = None) -> sp.csr_matrix:
    """Users × items CSR (float32); ``cols`` remaps item indices (-1 drops the item).

    A cell is 1 when the user interacted with the item, or, with ``eventsConfig`` weights, the
    largest weight among the user's events on it (weights are scaled so the largest is 1).
    """
    item = data.item_idx if cols is None else cols[data.item_idx]
    keep = item >= 0
    n_cols = data.n_items if cols is None else int(cols.max(initial=-1)) + 1
    shape = (data.n_users, max(n_cols, 0))
    weight = np.asarray(data.weight, dtype=np.float32)[keep]
    if weight.size == 0 or bool(np.all(weight == 1.0)):
        m = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (data.user_idx[keep], item[keep])),
            shape=shape,
        )
        m.sum_duplicates()
        m.data[:] = 1.0
        return m
    users, items = data.user_idx[keep], item[keep]
    order = np.lexsort((weight, items, users))
    users, items, weight = users[order], items[order], weight[order]
    last = np.ones(users.shape[0], dtype=bool)  # the heaviest event of each (user, item) pair
    last[:-1] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
    return sp.csr_matrix((weight[last], (users[last], items[last])), shape=shape)


def fit_transitions(data: TrainingData, window: int = TRANSITION_WINDOW) -> sp.csr_matrix:
    """Row-normalised item → next-item matrix: (n_items, n_items) CSR float32.

    Per user, consecutive repeats of one item are collapsed; a pair ``d`` steps apart
    (1 ≤ d ≤ ``window``) counts ``1 / d``. Rows are divided by (row total + 1) for smoothing.
    """
    n = data.n_items
    order = np.lexsort((np.arange(data.n_interactions), data.user_idx))
    users, items = data.user_idx[order], data.item_idx[order]
    keep = np.ones(users.shape[0], dtype=bool)
    keep[1:] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
    users, items = users[keep], items[keep]
    src: list[IntArray] = []
    dst: list[IntArray] = []
    val: list[FloatArray] = []
    for d in range(1, window + 1):
        same = users[d:] == users[:-d]
        src.append(items[:-d][same])
        dst.append(items[d:][same])
        val.append(np.full(int(same.sum()), 1.0 / d, dtype=np.float32))
    counts = sp.csr_matrix(
        (np.concatenate(val), (np.concatenate(src), np.concatenate(dst))), shape=(n, n)
    )
    counts.sum_duplicates()
    row_total = np.asarray(counts.sum(axis=1)).ravel().astype(np.float32)
    scaled: sp.csr_matrix = sp.diags(1.0 / (row_total + 1.0)).astype(np.float32) @ counts
    return scaled.tocsr().astype(np.float32)


def repeat_propensity(data: TrainingData) -> FloatArray:
    """Per item, the smoothed share of its users who came back to it later: (n,) float32."""
    n = data.n_items
    key = data.user_idx.astype(np.int64) * n + data.item_idx
    ts = np.asarray(data.timestamp, dtype=np.float64)
    # Distinct timestamps per (user, item): simultaneous events (click + watch) are one visit.
    order = np.lexsort((ts, key))
    key, ts = key[order], ts[order]
    new_key = np.ones(key.shape[0], dtype=bool)
    new_key[1:] = key[1:] != key[:-1]
    new_visit = new_key.copy()
    new_visit[1:] |= ts[1:] != ts[:-1]
    starts = np.flatnonzero(new_key)
    visits = np.add.reduceat(new_visit.astype(np.int64), starts) if starts.shape[0] else starts
    item = key[starts] % n
    users = np.bincount(item, minlength=n).astype(np.float64)
    repeaters = np.bincount(item, weights=(visits > 1).astype(np.float64), minlength=n)
    prior = float(repeaters.sum() / max(users.sum(), 1.0))
    return ((repeaters + 2.0 * prior) / (users + 2.0)).astype(np.float32)


def popularity(data: TrainingData, half_life: float) -> FloatArray:
    """Time-decayed interaction counts, normalised to max 1: (n_items,) float32.

    ``half_life`` is a fraction of the training time span; 0 disables the decay.
    """
    n = data.n_items
    if data.n_interactions == 0:
        return np.zeros(n, dtype=np.float32)
    ts = data.timestamp
    span = float(ts.max() - ts.min())
    if half_life > 0 and span > 0:
        w = np.exp2(-(float(ts.max()) - ts) / (half_life * span))
    else:
        w = np.ones(data.n_interactions)
    counts = np.bincount(data.item_idx, weights=w, minlength=n)
    top = counts.max()
    return (counts / top if top > 0 else counts).astype(np.float32)


def popularity_by_time(
    data: TrainingData, bins: int = TIME_BINS
) -> tuple[FloatArray, npt.NDArray[np.float64]]:
    """Popularity per time bin: (bins, n_items) float32, rows max 1; and (bins - 1,) float64 edges.

    Bins are quantiles of the event times, so each holds about the same number of events; a row
    mixes its bin with half of each neighbour to smooth the edges.
    """
    n = data.n_items
    if data.n_interactions == 0:
        return np.zeros((1, n), dtype=np.float32), np.zeros(0, dtype=np.float64)
    edges = np.unique(np.quantile(data.timestamp, np.linspace(0, 1, bins + 1)[1:-1]))
    b = np.searchsorted(edges, data.timestamp, side="right")
    n_bins = edges.shape[0] + 1
    flat = b.astype(np.int64) * n + data.item_idx
    counts = np.bincount(flat, minlength=n_bins * n).astype(np.float64).reshape(n_bins, n)
    smooth = counts.copy()
    smooth[1:] += 0.5 * counts[:-1]
    smooth[:-1] += 0.5 * counts[1:]
    top = smooth.max(axis=1, keepdims=True)
    out = np.divide(smooth, top, out=np.zeros_like(smooth), where=top > 0).astype(np.float32)
    return out, edges.astype(np.float64)


# ----------------------------------------------------------------------------------------------
# Request-time features of a batch of histories


def _history_matrix(
    histories: Sequence[History], n_items: int, decay: float, last: int
) -> FloatArray:
    """(len(histories), n_items) float32: per item, ``decay ** age`` of its newest occurrence.

    ``age`` counts events back from the newest (0); only the newest ``last`` events are used.
    """
    out = np.zeros((len(histories), n_items), dtype=np.float32)
    for row, h in enumerate(histories):
        items = h.item_idx[-last:] if last > 0 else h.item_idx
        if items.shape[0] == 0:
            continue
        age = np.arange(items.shape[0] - 1, -1, -1, dtype=np.float64)
        w = np.power(decay, age).astype(np.float32)
        # Oldest first, so assigning in order leaves the newest occurrence's weight in place.
        out[row, items] = w
    return out


def _row_normalise(scores: FloatArray) -> FloatArray:
    top = scores.max(axis=1, keepdims=True) if scores.shape[1] else np.zeros((scores.shape[0], 1))
    return np.divide(scores, top, out=np.zeros_like(scores), where=top > 0).astype(np.float32)


def _newest_weights(items: IntArray, decay: float, last: int) -> tuple[IntArray, FloatArray]:
    """The sparse form of one row of :func:`_history_matrix`: (sorted distinct item indices,
    float32 ``decay ** age`` of each item's newest occurrence)."""
    if last > 0:
        items = items[-last:]
    k = items.shape[0]
    age = np.arange(k - 1, -1, -1, dtype=np.float64)
    w = np.power(decay, age).astype(np.float32)
    # np.unique keeps the first occurrence: on the reversed history, the newest one.
    uniq, first = np.unique(items[::-1], return_index=True)
    weights = w[::-1][first]
    nonzero = weights != 0  # a dense row drops weights that underflowed to 0
    return uniq[nonzero].astype(np.int64, copy=False), weights[nonzero]


def _sparse_max(values: FloatArray, n: int) -> float:
    """The row maximum of a length-``n`` row whose nonzeros are ``values`` (0 if any is absent)."""
    top = float(values.max()) if values.shape[0] else 0.0
    return max(top, 0.0) if values.shape[0] < n else top


class UserPersonalization(Model):
    """EASE/iALS + sequence + repeat + popularity blend. See the module docstring."""

    recipe_name: ClassVar[str] = "aws-user-personalization"
    recipe_type: ClassVar[str] = "USER_PERSONALIZATION"
    realtime: ClassVar[bool] = True
    returns_scores: ClassVar[bool] = True
    scores_into: ClassVar[bool] = True
    default_hyperparameters: ClassVar[dict[str, str]] = {
        "hidden_dimension": "149",
        "bptt": "32",
        "recency_mask": "True",
    }

    def __init__(
        self,
        items: Vocabulary,
        users: Vocabulary,
        *,
        blend: Blend,
        bptt: int,
        recency_mask: bool,
        ease_items: IntArray,
        ease_weights: FloatArray | None,
        item_factors: FloatArray | None,
        transitions: sp.csr_matrix,
        repeat: FloatArray,
        popularity: FloatArray,
        item_first_seen: npt.NDArray[np.float64],
        item_interaction_count: IntArray,
        item_features: sp.csr_matrix | None = None,
        popularity_bins: FloatArray | None = None,
        popularity_edges: npt.NDArray[np.float64] | None = None,
        als_l2: float = 0.05,
        als_alpha: float = 10.0,
        objective: ItemObjective | None = None,
    ) -> None:
        super().__init__(items, users)
        self.blend = blend
        self.bptt = bptt
        self.recency_mask = recency_mask
        self.ease_items = ease_items  # (m,) int64: items covered by the EASE block
        self.ease_weights = ease_weights  # (m, m) float32 or None
        self.item_factors = item_factors  # (n_items, k) float32 or None (iALS path)
        self.transitions = transitions  # (n_items, n_items) CSR float32
        self.repeat = repeat  # (n_items,) float32
        self.popularity = popularity  # (n_items,) float32 in [0, 1]
        # Exploration inputs for serving: first-seen / creation time and interaction counts.
        self.item_first_seen = item_first_seen  # (n_items,) float64 epoch seconds, NaN unknown
        self.item_interaction_count = item_interaction_count  # (n_items,) int64
        self.item_features = item_features  # (n_items, f) CSR float32, rows L2-normalised (v2)
        # (bins, n_items) float32 popularity per time bin and its (bins - 1,) float64 edges.
        if popularity_bins is None:
            popularity_bins = popularity[None, :].copy()
        self.popularity_bins = popularity_bins
        self.popularity_edges = (
            popularity_edges if popularity_edges is not None else np.zeros(0, dtype=np.float64)
        )
        self.als_l2 = als_l2
        self.als_alpha = als_alpha
        # solutionConfig.optimizationObjective, blended into every score (engine/objective.py).
        self.objective = objective

    def with_objective(self, objective: ItemObjective | None) -> UserPersonalization:
        """This model, scoring with ``objective`` blended in (None: relevance only)."""
        self.objective = objective
        return self

    def _blend_objective(self, scores: FloatArray) -> FloatArray:
        """The last step of both scoring paths (online and offline): the optimization
        objective blended into the relevance scores, in place, when the solution has one."""
        if self.objective is not None:
            self.objective.apply(scores)
        return scores

    # -- training ------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        data: TrainingData,
        hyperparameters: Mapping[str, str],
        rng: np.random.Generator,
    ) -> UserPersonalization:
        hp = {**cls.default_hyperparameters, **hyperparameters}
        blend = Blend(metadata=cls._default_metadata_weight())
        if not cls._recency(hp):
            blend.history_decay = 1.0
        # Enough validation users for a stable choice on small data sets (≥ ~300 when possible).
        n_active = int(np.count_nonzero(np.bincount(data.user_idx, minlength=data.n_users)))
        fraction = min(0.3, max(0.1, VALIDATION_USERS / max(n_active, 1)))
        # On large data 10 % of the users is far more than tuning needs, and every validation
        # user costs a dense row per blend part: cap the users by a cell budget.
        cap = max(VALIDATION_USERS, TUNING_CELLS // max(data.n_items, 1))
        fraction = min(fraction, cap / max(n_active, 1))
        val = validation_split(data, rng, test_fraction=fraction)
        if len(val.test) >= MIN_VALIDATION_USERS:
            # The probe only chooses blend weights: a smaller EASE block is enough and much cheaper.
            probe = cls._fit(val.train, hp, blend, rng, ease_max_items=PROBE_EASE_MAX_ITEMS)
            pops = {hl: popularity(val.train, hl) for hl in POPULARITY_HALF_LIVES}
            blend = probe._tune(val.test.histories(), val.test.relevant_sets(), pops)
            # Warm start: the probe saw all but the validation users, so a few more iALS
            # iterations on all the training data finish the model (none on the EASE path).
            return cls._fit(data, hp, blend, rng, warm_item_factors=probe.item_factors)
        return cls._fit(data, hp, blend, rng)

    @staticmethod
    def _default_metadata_weight() -> float:
        return 0.0

    @staticmethod
    def _recency(hp: Mapping[str, str]) -> bool:
        return parse_bool(hp.get("recency_mask", "True"))

    @classmethod
    def _item_features(cls, data: TrainingData) -> sp.csr_matrix | None:
        return None

    @classmethod
    def _fit(
        cls,
        data: TrainingData,
        hp: Mapping[str, str],
        blend: Blend,
        rng: np.random.Generator,
        ease_max_items: int = EASE_MAX_ITEMS,
        warm_item_factors: FloatArray | None = None,
    ) -> UserPersonalization:
        n = data.n_items
        counts = np.bincount(data.item_idx, minlength=n).astype(np.int64)
        user_items = _user_item_matrix(data)
        n_users_per_item = np.diff(user_items.tocsc().indptr)
        # EASE over the most popular items (≥2 users) when they carry most of the interactions;
        # otherwise (huge, flat catalogues) implicit ALS over everything.
        by_users = np.argsort(-n_users_per_item, kind="stable")
        candidates = by_users[:ease_max_items][n_users_per_item[by_users[:ease_max_items]] >= 2]
        covered = float(n_users_per_item[candidates].sum()) / max(1.0, float(user_items.nnz))
        ease_items = np.zeros(0, dtype=np.int64)
        ease_weights: FloatArray | None = None
        item_factors: FloatArray | None = None
        if covered >= EASE_MIN_COVERAGE or user_items.nnz == 0:
            ease_items = np.sort(candidates).astype(np.int64)
            cols = np.full(n, -1, dtype=np.int64)
            cols[ease_items] = np.arange(ease_items.shape[0])
            sub = _user_item_matrix(data, cols)
            mean_users = float(n_users_per_item[ease_items].mean()) if len(ease_items) else 1.0
            ease_weights = fit_ease(sub, l2=max(1.0, EASE_L2_SCALE * mean_users))
        else:
            factors = int(hp.get("hidden_dimension", "149"))
            if warm_item_factors is not None:
                item_factors = fit_ials(
                    user_items, factors, rng, iterations=WARM_ALS_ITERATIONS, init=warm_item_factors
                )
            else:
                item_factors = fit_ials(user_items, factors, rng)

        first_seen = np.full(n, np.nan, dtype=np.float64)
        if data.n_interactions:
            np.fmin.at(first_seen, data.item_idx, data.timestamp)
        if data.item_creation_timestamp is not None:
            first_seen = np.where(
                np.isnan(data.item_creation_timestamp), first_seen, data.item_creation_timestamp
            )
        bins, edges = popularity_by_time(data)
        return cls(
            data.items,
            data.users,
            blend=blend,
            bptt=int(hp.get("bptt", "32")),
            recency_mask=cls._recency(hp),
            ease_items=ease_items,
            ease_weights=ease_weights,
            item_factors=item_factors,
            transitions=fit_transitions(data),
            repeat=repeat_propensity(data),
            popularity=popularity(data, max(blend.popularity_half_life, 0.0)),
            popularity_bins=bins,
            popularity_edges=edges,
            item_first_seen=first_seen,
            item_interaction_count=counts,
            item_features=cls._item_features(data),
        )

    def _tune(
        self,
        histories: list[History],
        relevant: list[IntArray],
        popularities: Mapping[float, FloatArray],
    ) -> Blend:
        """Coordinate ascent of the blend on validation users, scored by NDCG@10 (+ MRR).

        Runs with one BLAS thread: the per-user k×k fold-in solves and matrix-vector products
        are far slower with a BLAS thread pool (50× for 149 factors on a loaded 2-core box).
        """
        with single_blas_thread():
            return self._tune_blend(histories, relevant, popularities)

    def _tune_blend(
        self,
        histories: list[History],
        relevant: list[IntArray],
        popularities: Mapping[float, FloatArray],
    ) -> Blend:
        n = len(self.items)
        grid: dict[str, tuple[float, ...]] = {
            "history_decay": (1.0, 0.995, 0.98, 0.95, 0.9) if self.recency_mask else (1.0,),
            "sequence": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
            "sequence_decay": (0.3, 0.6, 0.85),
            "repeat": (-2.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0, 8.0),
            "repeat_decay": (0.5, 0.8, 0.95, 1.0),
            "seen": (-10.0, -1.0, -0.3, 0.0),
            "popularity": (0.0, 0.05, 0.2, 0.5),
            "popularity_half_life": (*popularities, LOCAL),
        }
        if self.item_features is not None:
            grid["metadata"] = (0.0, 0.1, 0.3, 0.6)
        part_cache: dict[tuple[str, float], FloatArray] = {}

        def parts(b: Blend) -> dict[str, FloatArray]:
            keys = {
                "collaborative": ("collaborative", b.history_decay),
                "metadata": ("metadata", b.history_decay),
                "sequence": ("sequence", b.sequence_decay),
                "repeat": ("repeat", b.repeat_decay),
                "seen": ("seen", 1.0),
            }
            out: dict[str, FloatArray] = {}
            for name, key in keys.items():
                if key not in part_cache:
                    full = self._tuning_part(name, histories, key[1])
                    part_cache[key] = full if cols is None else full[:, cols]
                out[name] = part_cache[key]
            # Keep only the parts of this trial and of the best blend so far (bounded memory),
            # and every collaborative part: the costliest to recompute, one per history decay.
            wanted = set(keys.values()) | set(part_keys(best))
            for stale in [k for k in part_cache if k not in wanted and k[0] != "collaborative"]:
                del part_cache[stale]
            return out

        def part_keys(b: Blend) -> list[tuple[str, float]]:
            return [
                ("collaborative", b.history_decay),
                ("metadata", b.history_decay),
                ("sequence", b.sequence_decay),
                ("repeat", b.repeat_decay),
                ("seen", 1.0),
            ]

        def score(b: Blend) -> float:
            p = parts(b)
            if b.popularity_half_life == LOCAL:
                pop = local_pop
            else:
                pop = popularities.get(b.popularity_half_life, self.popularity)[None, :]
                if cols is not None:
                    pop = pop[:, cols]
            total = b.collaborative * p["collaborative"]
            # Zero-weight parts add nothing (but a 0 × part keeps the dense blend's -0.0 rules).
            for weight, part in (
                (b.sequence, p["sequence"]),
                (b.repeat, p["repeat"]),
                (b.seen, p["seen"]),
                (b.metadata, p["metadata"]),
            ):
                if weight:
                    total += weight * part
            total = total + b.popularity * pop
            top = top_k(total)
            if cols is not None:
                top = np.where(top >= 0, cols[np.maximum(top, 0)], -1)
            m = ranking_metrics(top, relevant, n, assume_unique=True)
            return (
                m["normalized_discounted_cumulative_gain_at_10"]
                + 0.5 * m["mean_reciprocal_rank_at_25"]
            )

        cols = self._tuning_items(histories)
        local_pop = self._local_popularity(histories)
        if cols is not None:
            local_pop = local_pop[:, cols]
        best = Blend(**self.blend.to_json())
        best_score = score(best)
        for _ in range(2):
            improved = False
            for name, values in grid.items():
                for v in values:
                    trial = Blend(**{**best.to_json(), name: v})
                    s = score(trial)
                    if s > best_score + 1e-9:
                        best, best_score, improved = trial, s, True
            if not improved:
                break
        return best

    def _tuning_part(self, name: str, histories: Sequence[History], decay: float) -> FloatArray:
        """:meth:`_part` for tuning; the iALS collaborative part as one matrix product."""
        if name != "collaborative" or self.ease_weights is not None or self.item_factors is None:
            return self._part(name, histories, decay)
        return _row_normalise(self._fold_in(histories, decay) @ self.item_factors.T)

    def score_users_offline(self, histories: Sequence[History]) -> FloatArray:
        """:meth:`score_users` for a batch of offline evaluation users, (n, n_items) float32.

        The dense blend of :meth:`_part` with the collaborative part from :meth:`_tuning_part`
        (one matrix product for the iALS fold-ins instead of a matrix-vector product per user):
        equal to :meth:`score_users` up to float rounding, many times faster for big batches.
        """
        n = len(self.items)
        b = self.blend
        if b.popularity_half_life == LOCAL:
            total = b.popularity * self._local_popularity(histories)
        else:
            total = b.popularity * np.broadcast_to(self.popularity, (len(histories), n))
        total = total + b.collaborative * self._tuning_part(
            "collaborative", histories, b.history_decay
        )
        if b.sequence:
            total += b.sequence * self._part("sequence", histories, b.sequence_decay)
        if b.repeat:
            total += b.repeat * self._part("repeat", histories, b.repeat_decay)
        if b.seen:
            total += b.seen * self._part("seen", histories, 1.0)
        if b.metadata:
            total += b.metadata * self._part("metadata", histories, b.history_decay)
        out: FloatArray = (total + 1e-4 * self.popularity[None, :]).astype(np.float32)
        return self._blend_objective(out)

    def _tuning_items(self, histories: list[History]) -> IntArray | None:
        """Large catalogues: the items tuning ranks among (sorted), else None (all items).

        The most popular ``TUNING_ITEMS`` items, the validation users' own items and each user's
        top items of the collaborative and sequence parts at the starting blend: the items any
        blend on the grid can plausibly put in a top 25. Relevant items are not added (no leak).
        """
        n = len(self.items)
        if n <= TUNING_ITEMS:
            return None
        keep = np.zeros(n, dtype=bool)
        keep[np.argsort(-self.item_interaction_count, kind="stable")[:TUNING_ITEMS]] = True
        for h in histories:
            keep[h.item_idx] = True
        b = self.blend
        for name, decay in (("collaborative", b.history_decay), ("sequence", b.sequence_decay)):
            top = top_k(self._tuning_part(name, histories, decay), TUNING_PER_USER)
            keep[top[top >= 0]] = True
        cols = np.flatnonzero(keep).astype(np.int64)
        return cols if cols.shape[0] < n else None

    # -- scoring -------------------------------------------------------------------------------

    def _part(self, name: str, histories: Sequence[History], decay: float) -> FloatArray:
        """One normalised blend part for a batch: (len(histories), n_items) float32."""
        n = len(self.items)
        if name == "collaborative":
            x = _history_matrix(histories, n, decay, 0)
            return _row_normalise(self._collaborative(x, histories, decay))
        if name == "sequence":
            x = _history_matrix(histories, n, decay, self.bptt)
            return _row_normalise(np.asarray((sp.csr_matrix(x) @ self.transitions).todense()))
        if name == "repeat":
            x = _history_matrix(histories, n, decay, 0)
            return _row_normalise(x * self.repeat[None, :])
        if name == "seen":
            return (_history_matrix(histories, n, 1.0, 0) > 0).astype(np.float32)
        if name == "metadata":
            if self.item_features is None:
                return np.zeros((len(histories), n), dtype=np.float32)
            x = _history_matrix(histories, n, decay, 0)
            profile = sp.csr_matrix(x) @ self.item_features
            sims = np.asarray((profile @ self.item_features.T).todense(), dtype=np.float32)
            return _row_normalise(sims)
        raise ValueError(name)

    def cold_user_scores(self) -> FloatArray:
        """What a user without history gets: (n_items,) float32 (the tuned popularity variant)."""
        out: FloatArray = self.score_users([History.empty()])[0]
        return out

    def _local_popularity(self, histories: Sequence[History]) -> FloatArray:
        """(len(histories), n_items) float32: popularity in the time bin of each newest event."""
        last = np.array(
            [h.timestamp[-1] if len(h) else np.inf for h in histories], dtype=np.float64
        )
        rows = np.searchsorted(self.popularity_edges, last, side="right")
        out: FloatArray = self.popularity_bins[rows]
        return out

    def _collaborative(
        self, x: FloatArray, histories: Sequence[History], decay: float
    ) -> FloatArray:
        """The collaborative part before normalising, (m, n_items) float32; ``x`` is the
        history matrix of ``histories`` with ``decay``."""
        out = np.zeros_like(x)
        if self.ease_weights is not None:
            if self.ease_items.shape[0]:
                out[:, self.ease_items] = x[:, self.ease_items] @ self.ease_weights
            return out
        if self.item_factors is not None:
            out[:] = self._fold_in(histories, decay) @ self.item_factors.T
        return out

    def _fold_in(self, histories: Sequence[History], decay: float) -> FloatArray:
        """iALS user vectors of ``histories`` ((m, k) float32; zero rows for empty histories):
        :func:`fold_in` with this model's factors, regularisation and confidence."""
        y = self.item_factors
        assert y is not None
        gram = self._als_gram(y)
        return fold_in(histories, y, gram, self._als_gram_inverse(gram), self.als_alpha, decay)

    def score_users(
        self, histories: Sequence[History], out: FloatArray | None = None
    ) -> FloatArray:
        """Blended scores, (len(histories), n_items) float32 (C-contiguous, ``out`` when given);
        empty histories → popularity.

        The collaborative part of the whole batch is one matrix product
        (:meth:`_collaborative_rows`) whose output buffer becomes the result; the sparse parts
        are added row by row on a lean path (:meth:`_add_sparse_parts`) that touches only the
        items of the history and their transitions. The blend adds the same terms in the same
        order as the dense blend of :meth:`_part`."""
        b = self.blend
        total, live = self._collaborative_rows(histories, b.history_decay, b.collaborative, out)
        dead = np.flatnonzero(~live)
        if dead.size:
            total[dead] = 0.0  # an all-zero collaborative part
        if b.popularity_half_life == LOCAL:
            total += np.float32(b.popularity) * self._local_popularity(histories)
            total += self._tie_break()
        else:
            total += self._shared_base()
        for row, h in enumerate(histories):
            self._add_sparse_parts(h, total[row])
        return self._blend_objective(total)

    def _shared_base(self) -> FloatArray:
        """Popularity part plus tie-break, the same for every user (when popularity is not
        local to the time of the user's last event), (n_items,) float32, once per model."""
        cached = self.__dict__.get("_shared_base_cache")
        key = (self.popularity, self.blend.popularity)
        if cached is None or cached[0] is not key[0] or cached[1] != key[1]:
            base = np.float32(self.blend.popularity) * self.popularity + self._tie_break()
            cached = (key[0], key[1], base.astype(np.float32))
            self.__dict__["_shared_base_cache"] = cached
        out: FloatArray = cached[2]
        return out

    def _score_one(self, h: History) -> FloatArray:
        """One user's blended scores, (n_items,) float32."""
        out: FloatArray = self.score_users([h])[0]
        return out

    def _add_sparse_parts(self, h: History, total: FloatArray) -> None:
        """Adds the sequence, repeat, seen and metadata parts to one user's ``total``
        ((n_items,) float32, in place)."""
        b = self.blend
        n = len(self.items)
        if b.sequence and len(h):
            idx, w = _newest_weights(h.item_idx, b.sequence_decay, self.bptt)
            x = sp.csr_matrix((w, idx, np.array([0, idx.shape[0]])), shape=(1, n))
            seq = (x @ self.transitions).tocsr()
            seq.sum_duplicates()
            cols, vals = seq.indices, seq.data.astype(np.float32, copy=False)
            top = _sparse_max(vals, n)
            if top > 0:
                total[cols] += b.sequence * (vals / np.float32(top))
        if b.repeat and len(h):
            idx, w = _newest_weights(h.item_idx, b.repeat_decay, 0)
            vals = w * self.repeat[idx]
            top = _sparse_max(vals, n)
            if top > 0:
                total[idx] += b.repeat * (vals / np.float32(top))
        if b.seen and len(h):
            idx = np.unique(h.item_idx)
            total[idx] += b.seen * np.ones(idx.shape[0], dtype=np.float32)
        if b.metadata:
            total += b.metadata * self._part("metadata", [h], b.history_decay)[0]

    def _tie_break(self) -> FloatArray:
        cached = self.__dict__.get("_tie_break_cache")
        if cached is None or cached[0] is not self.popularity:
            cached = (self.popularity, (1e-4 * self.popularity[None, :])[0])
            self.__dict__["_tie_break_cache"] = cached
        out: FloatArray = cached[1]
        return out

    def _ease_positions(self) -> IntArray:
        """Model item index → column of the EASE block (-1 outside it), (n_items,) int64."""
        cached = self.__dict__.get("_ease_positions_cache")
        if cached is None or cached[0] is not self.ease_items:
            pos = np.full(len(self.items), -1, dtype=np.int64)
            pos[self.ease_items] = np.arange(self.ease_items.shape[0])
            cached = (self.ease_items, pos)
            self.__dict__["_ease_positions_cache"] = cached
        out: IntArray = cached[1]
        return out

    def _als_gram(self, y: FloatArray) -> FloatArray:
        """``YᵀY + λI`` of the item factors, computed once per model (k × k float32)."""
        cached = self.__dict__.get("_als_gram_cache")
        if cached is None or cached[0] is not y or cached[1] != self.als_l2:
            k = y.shape[1]
            gram = y.T @ y + np.float32(self.als_l2) * np.eye(k, dtype=np.float32)
            cached = (y, self.als_l2, gram)
            self.__dict__["_als_gram_cache"] = cached
        out: FloatArray = cached[2]
        return out

    def _als_gram_inverse(self, gram: FloatArray) -> npt.NDArray[np.float64]:
        """``(YᵀY + λI)⁻¹`` in float64, once per model (the fold-in's Woodbury form)."""
        cached = self.__dict__.get("_als_gram_inverse_cache")
        if cached is None or cached[0] is not gram:
            cached = (gram, np.linalg.inv(gram.astype(np.float64)))
            self.__dict__["_als_gram_inverse_cache"] = cached
        out: npt.NDArray[np.float64] = cached[1]
        return out

    def _collaborative_rows(
        self,
        histories: Sequence[History],
        decay: float,
        scale: float = 1.0,
        out: FloatArray | None = None,
    ) -> tuple[FloatArray, BoolArray]:
        """The normalised collaborative part of a batch times ``scale`` (its blend weight):
        ((m, n_items) float32 C-contiguous, ``out`` when given; (m,) bool). A row whose flag is
        False has an all-zero part and holds garbage; the caller overwrites it. One matrix
        product for the whole batch (EASE block or iALS factors)."""
        n = len(self.items)
        m = len(histories)
        live = np.zeros(m, dtype=np.bool_)
        if out is None:
            out = np.empty((m, n), dtype=np.float32)
        if self.ease_weights is not None:
            width = self.ease_items.shape[0]
            if width == 0:
                return out, live
            x = np.zeros((m, width), dtype=np.float32)
            positions = self._ease_positions()
            for row, h in enumerate(histories):
                if len(h):
                    idx, w = _newest_weights(h.item_idx, decay, 0)
                    pos = positions[idx]
                    hit = pos >= 0
                    x[row, pos[hit]] = w[hit]
            ease = x @ self.ease_weights
            tops = ease.max(axis=1)
            if width < n:
                tops = np.maximum(tops, np.float32(0.0))
            live[:] = tops > 0
            if width < n:
                out[live] = 0.0
            for row in np.flatnonzero(live).tolist():
                out[row, self.ease_items] = ease[row] * (np.float32(scale) / tops[row])
            return out, live
        if self.item_factors is None:
            return out, live
        y = self.item_factors
        live[:] = [len(h) > 0 for h in histories]
        np.matmul(self._fold_in(histories, decay), y.T, out=out)
        if n == 0:
            live[:] = False
            return out, live
        tops = out.max(axis=1)
        live &= tops > 0
        # Each live row divided by its maximum and times ``scale``: one pass over the batch.
        factor = np.zeros(m, dtype=np.float32)
        factor[live] = np.float32(scale) / tops[live]
        out *= factor[:, None]
        return out, live

    # -- artifacts -----------------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        arrays: dict[str, np.ndarray] = {
            "ease_items": self.ease_items,
            "transitions_indptr": self.transitions.indptr.astype(np.int64),
            "transitions_indices": self.transitions.indices.astype(np.int64),
            "transitions_data": self.transitions.data.astype(np.float32),
            "repeat": self.repeat,
            "popularity": self.popularity,
            "item_first_seen": self.item_first_seen,
            "item_interaction_count": self.item_interaction_count,
            "popularity_bins": self.popularity_bins,
            "popularity_edges": self.popularity_edges,
        }
        if self.ease_weights is not None:
            arrays["ease_weights"] = self.ease_weights
        if self.item_factors is not None:
            arrays["item_factors"] = self.item_factors
        if self.item_features is not None:
            f = self.item_features
            arrays["features_indptr"] = f.indptr.astype(np.int64)
            arrays["features_indices"] = f.indices.astype(np.int64)
            arrays["features_data"] = f.data.astype(np.float32)
            arrays["features_shape"] = np.array(f.shape, dtype=np.int64)
        meta: JsonDict = {
            "blend": self.blend.to_json(),
            "bptt": self.bptt,
            "recency_mask": self.recency_mask,
            "als_l2": self.als_l2,
            "als_alpha": self.als_alpha,
        }
        if self.objective is not None:
            objective_arrays, meta["objective"] = self.objective.to_arrays()
            arrays.update(objective_arrays)
        return arrays, meta

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> UserPersonalization:
        n = len(items)
        transitions = sp.csr_matrix(
            (
                arrays["transitions_data"],
                arrays["transitions_indices"],
                arrays["transitions_indptr"],
            ),
            shape=(n, n),
        )
        features = None
        if "features_indptr" in arrays:
            shape = tuple(int(s) for s in arrays["features_shape"])
            features = sp.csr_matrix(
                (arrays["features_data"], arrays["features_indices"], arrays["features_indptr"]),
                shape=shape,
            )
        return cls(
            items,
            users,
            blend=Blend.from_json(meta["blend"]),
            bptt=int(meta["bptt"]),
            recency_mask=bool(meta["recency_mask"]),
            ease_items=np.asarray(arrays["ease_items"], dtype=np.int64),
            ease_weights=arrays.get("ease_weights"),
            item_factors=arrays.get("item_factors"),
            transitions=transitions,
            repeat=np.asarray(arrays["repeat"], dtype=np.float32),
            popularity=np.asarray(arrays["popularity"], dtype=np.float32),
            item_first_seen=np.asarray(arrays["item_first_seen"], dtype=np.float64),
            item_interaction_count=np.asarray(arrays["item_interaction_count"], dtype=np.int64),
            item_features=features,
            popularity_bins=np.asarray(arrays["popularity_bins"], dtype=np.float32),
            popularity_edges=np.asarray(arrays["popularity_edges"], dtype=np.float64),
            als_l2=float(meta.get("als_l2", 0.05)),
            als_alpha=float(meta.get("als_alpha", 10.0)),
            objective=ItemObjective.from_arrays(arrays, meta.get("objective")),
        )
