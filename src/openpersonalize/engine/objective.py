"""``solutionConfig.optimizationObjective``: relevance blended with a numeric item attribute.

A solution of aws-user-personalization(-v2) or aws-personalized-ranking(-v2) may name one numeric,
non-nullable column of the Items dataset (``itemAttribute``, e.g. PRICE to favour revenue) and an
``objectiveSensitivity`` (spec §2.4). The column is normalised over the catalogue to ``o`` in
[0, 1] (min–max; items without a value get 0; a constant column gets 1 everywhere) and every
positive relevance score ``s`` of the model becomes::

    s × (1 − w + w × o)        w = 0 (OFF), 0.25 (LOW), 0.5 (MEDIUM), 0.75 (HIGH)

so at MEDIUM the item with the smallest value needs twice the relevance of the item with the
largest to rank level with it, at HIGH four times. The blend is multiplicative on purpose: an
item the model finds irrelevant stays irrelevant however large its value (an additive blend would
put the most expensive items at the top of every list), and scores at or below zero — items the
model pushes away, such as ones already seen — are left as they are. OFF keeps relevance only
but still reports the metric below, which makes it the baseline to compare the other levels with.

The offline metric ``average_rewards_at_k`` is the mean over test users of the share of the value
of their held-out items that the top 25 recommendations contain: Σ value of the relevant items
recommended ÷ Σ value of all their relevant items, with values clipped at 0; users whose relevant
items are worth nothing are left out of the mean. It lies in [0, 1].

The normalised values live in the model artifact (an ``npz`` array plus the attribute and
sensitivity in the JSON manifest), so serving and offline evaluation apply the same blend through
:meth:`ItemObjective.apply`, the one place it is computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from openpersonalize.engine.base import FloatArray, IntArray, JsonDict, TrainingData
from openpersonalize.engine.metrics import TOP_K

AVERAGE_REWARDS_KEY = "average_rewards_at_k"
OBJECTIVE_RECIPES: tuple[str, ...] = (
    "aws-user-personalization",
    "aws-user-personalization-v2",
    "aws-personalized-ranking",
    "aws-personalized-ranking-v2",
)
SENSITIVITY_WEIGHTS: dict[str, float] = {"OFF": 0.0, "LOW": 0.25, "MEDIUM": 0.5, "HIGH": 0.75}
# objectiveSensitivity is optional on the wire: an itemAttribute alone asks for the objective.
DEFAULT_SENSITIVITY = "MEDIUM"
NUMERIC_TYPES = ("int", "long", "float", "double")
CREATION_TIMESTAMP = "CREATION_TIMESTAMP"
Float64Array = npt.NDArray[np.float64]


class ObjectiveError(Exception):
    """The objective cannot be used; ``message`` says why (InvalidInput text / failureReason)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Objective:
    """The ``optimizationObjective`` of a solution: a column name and a sensitivity."""

    item_attribute: str
    sensitivity: str = DEFAULT_SENSITIVITY

    @property
    def weight(self) -> float:
        return SENSITIVITY_WEIGHTS[self.sensitivity]


def parse_objective(config: Mapping[str, Any] | None) -> Objective | None:
    """The objective of a ``solutionConfig`` (None when it has none), checked for shape only.

    Raises :class:`ObjectiveError` for a sensitivity other than OFF / LOW / MEDIUM / HIGH, or a
    sensitivity other than OFF without an ``itemAttribute``.
    """
    raw = (config or {}).get("optimizationObjective") or {}
    attribute = str(raw.get("itemAttribute") or "").strip()
    sensitivity = str(raw.get("objectiveSensitivity") or DEFAULT_SENSITIVITY).upper()
    if sensitivity not in SENSITIVITY_WEIGHTS:
        raise ObjectiveError(
            f"Invalid objectiveSensitivity {raw.get('objectiveSensitivity')!r}: use one of "
            f"{', '.join(SENSITIVITY_WEIGHTS)}."
        )
    if not attribute:
        if raw.get("objectiveSensitivity") and sensitivity != "OFF":
            raise ObjectiveError(
                "optimizationObjective needs an itemAttribute: the numerical column of the Items "
                "dataset to optimize for."
            )
        return None
    return Objective(attribute, sensitivity)


def check_recipe(objective: Objective, recipe_name: str) -> None:
    if recipe_name not in OBJECTIVE_RECIPES:
        raise ObjectiveError(
            f"optimizationObjective is not supported by {recipe_name}: use "
            f"{', '.join(OBJECTIVE_RECIPES[:-1])} or {OBJECTIVE_RECIPES[-1]}."
        )


def _numeric_columns(fields: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        str(f["name"])
        for f in fields
        if str(f.get("name", "")).upper() != "ITEM_ID"
        and _type_of(f.get("type"))[0] in NUMERIC_TYPES
    ]


def _type_of(avro: Any) -> tuple[str, bool]:
    """(base type, nullable) of an Avro field type."""
    if isinstance(avro, list):
        non_null = [t for t in avro if t != "null"]
        base = _type_of(non_null[0])[0] if len(non_null) == 1 else "union"
        return base, len(non_null) < len(avro)
    if isinstance(avro, Mapping):
        return _type_of(avro.get("type"))
    return str(avro), False


def check_items_schema(objective: Objective, items_schema: Mapping[str, Any]) -> None:
    """The ``itemAttribute`` must be a numeric, non-nullable field of the Items schema."""
    fields: list[Mapping[str, Any]] = list(items_schema.get("fields") or [])
    numeric = _numeric_columns(fields)
    hint = (
        f" Numerical columns of the Items schema: {', '.join(numeric)}."
        if numeric
        else " The Items schema has no numerical column."
    )
    name = objective.item_attribute
    field_ = next((f for f in fields if str(f.get("name")) == name), None)
    if field_ is None:
        raise ObjectiveError(
            f"Invalid optimizationObjective: itemAttribute {name} is not a column of the Items "
            f"dataset.{hint}"
        )
    base, nullable = _type_of(field_.get("type"))
    if base not in NUMERIC_TYPES or name.upper() == "ITEM_ID":
        raise ObjectiveError(
            f"Invalid optimizationObjective: itemAttribute {name} must be a numerical column "
            f"(int, long, float or double), not {base}.{hint}"
        )
    if nullable:
        raise ObjectiveError(
            f"Invalid optimizationObjective: itemAttribute {name} must not be nullable: remove "
            '"null" from its type in the Items schema.'
        )


def raw_values(data: TrainingData, objective: Objective) -> Float64Array:
    """The attribute of every item of ``data``: (n_items,) float64, NaN where unknown.

    Raises :class:`ObjectiveError` when the training data has no such numeric column (no Items
    dataset, a column excluded by ``trainingDataConfig``, or not numeric).
    """
    name = objective.item_attribute
    if name.upper() == CREATION_TIMESTAMP and data.item_creation_timestamp is not None:
        return np.asarray(data.item_creation_timestamp, dtype=np.float64)
    column = data.item_columns.get(name)
    numeric = (
        column is not None
        and name not in data.item_categorical
        and name not in data.item_textual
        and column.dtype.kind == "f"
    )
    if not numeric or column is None:
        raise ObjectiveError(
            f"The optimizationObjective itemAttribute {name} is not a numerical column of the "
            "Items data used for training: it needs an Items dataset with this column (not "
            "excluded by trainingDataConfig)."
        )
    return np.asarray(column, dtype=np.float64)


def normalise(values: Float64Array) -> FloatArray:
    """Min–max scaling to [0, 1]: (n,) float32; NaN → 0, a constant column → 1."""
    out = np.zeros(values.shape[0], dtype=np.float32)
    known = np.isfinite(values)
    if not known.any():
        return out
    low, high = float(values[known].min()), float(values[known].max())
    if high > low:
        out[known] = ((values[known] - low) / (high - low)).astype(np.float32)
    else:
        out[known] = 1.0
    return out


def rewards(values: Float64Array) -> Float64Array:
    """Per-item reward for ``average_rewards_at_k``: the value clipped at 0, NaN → 0."""
    return np.clip(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


@dataclass(eq=False)
class ItemObjective:
    """An objective fitted to a model's items: ``values`` (n_items,) float32 in [0, 1]."""

    item_attribute: str
    sensitivity: str
    values: FloatArray
    _factor: FloatArray | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def fit(cls, objective: Objective, values: Float64Array) -> ItemObjective:
        return cls(objective.item_attribute, objective.sensitivity, normalise(values))

    @property
    def weight(self) -> float:
        return SENSITIVITY_WEIGHTS[self.sensitivity]

    def factor(self) -> FloatArray:
        """(n_items,) float32 multiplier ``1 − w + w × o`` of the positive scores."""
        if self._factor is None:
            w = np.float32(self.weight)
            self._factor = (np.float32(1.0) - w + w * self.values).astype(np.float32)
        return self._factor

    def apply(self, scores: FloatArray) -> FloatArray:
        """Blend (in place) a batch of relevance scores, (m, n_items) float32; returns it."""
        if self.weight == 0.0 or scores.size == 0:
            return scores
        factor = np.broadcast_to(self.factor(), scores.shape)
        np.multiply(scores, factor, out=scores, where=scores > 0)
        return scores

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        meta: JsonDict = {"item_attribute": self.item_attribute, "sensitivity": self.sensitivity}
        return {"objective_values": self.values}, meta

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None
    ) -> ItemObjective | None:
        if not meta or "objective_values" not in arrays:
            return None
        return cls(
            str(meta["item_attribute"]),
            str(meta["sensitivity"]),
            np.asarray(arrays["objective_values"], dtype=np.float32),
        )


@dataclass(frozen=True, eq=False)
class FittedObjective:
    """What training needs of an objective: the model's part and the evaluation's rewards."""

    item: ItemObjective
    rewards: Float64Array  # (n_items,) float64 ≥ 0


def fit_objective(
    objective: Objective,
    recipe_name: str,
    data: TrainingData,
    items_schema: Mapping[str, Any] | None,
) -> FittedObjective:
    """Check ``objective`` against the recipe, the Items schema and ``data``; fit it to
    ``data``'s items. Raises :class:`ObjectiveError` with the failure reason."""
    check_recipe(objective, recipe_name)
    if items_schema is None:
        raise ObjectiveError(
            f"The optimizationObjective itemAttribute {objective.item_attribute} needs an Items "
            "dataset, and the dataset group has none."
        )
    check_items_schema(objective, items_schema)
    values = raw_values(data, objective)
    return FittedObjective(ItemObjective.fit(objective, values), rewards(values))


def average_rewards_at_k(
    top_items: IntArray, relevant: Sequence[IntArray], item_rewards: Float64Array
) -> float:
    """Mean over users of Σ reward of relevant items in the top K ÷ Σ reward of relevant items.

    ``top_items`` (n_users, ≥K) int64, -1 padded; ``relevant[u]`` distinct item indices;
    ``item_rewards`` (n_items,) float64 ≥ 0. Users whose relevant items are worth 0 are skipped;
    0.0 when every user is skipped.
    """
    n_users = len(relevant)
    if n_users == 0:
        return 0.0
    top = np.asarray(top_items, dtype=np.int64)[:, :TOP_K]
    lengths = np.fromiter((len(r) for r in relevant), dtype=np.int64, count=n_users)
    rel_items = (
        np.concatenate([np.asarray(r, dtype=np.int64) for r in relevant])
        if lengths.sum()
        else np.zeros(0, dtype=np.int64)
    )
    rel_users = np.repeat(np.arange(n_users, dtype=np.int64), lengths)
    rel_reward = item_rewards[rel_items] if rel_items.size else np.zeros(0)
    total = np.bincount(rel_users, weights=rel_reward, minlength=n_users)
    width = item_rewards.shape[0] + 1
    top_keys = np.arange(n_users, dtype=np.int64)[:, None] * width + top
    hit = np.isin(rel_users * width + rel_items, top_keys[top >= 0])
    gained = np.bincount(rel_users[hit], weights=rel_reward[hit], minlength=n_users)
    judged = total > 0
    if not judged.any():
        return 0.0
    return float(np.mean(gained[judged] / total[judged]))


def average_rewards_at_k_reference(
    top_items: Sequence[Sequence[int]],
    relevant: Sequence[Sequence[int]],
    item_rewards: Sequence[float],
) -> float:
    """Slow, obviously-correct version of :func:`average_rewards_at_k` (for tests)."""
    shares = []
    for row, rel in zip(top_items, relevant, strict=True):
        rel_set = set(int(i) for i in rel)
        total = sum(item_rewards[i] for i in rel_set)
        if total <= 0:
            continue
        top = {int(i) for i in list(row)[:TOP_K] if i >= 0}
        shares.append(sum(item_rewards[i] for i in rel_set & top) / total)
    return math.fsum(shares) / len(shares) if shares else 0.0
