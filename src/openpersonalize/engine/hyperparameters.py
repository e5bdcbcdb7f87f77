"""Hyperparameters of every recipe: definitions, validation, HPO and DescribeAlgorithm defaults.

One table (:data:`RECIPE_HYPERPARAMETERS`) is the single source for CreateSolution validation, the
effective parameters a recipe trains with, the HPO search space and the ``defaultHyperParameters`` /
``defaultHyperParameterRanges`` of DescribeAlgorithm (spec §2.3). Wire values are strings; recipes
read them back with :func:`get_int`, :func:`get_float`, :func:`get_bool` and :func:`get_str`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from openpersonalize.errors import InvalidInputException

Kind = Literal["int", "float", "bool", "categorical"]

MAX_TRAINING_JOBS = 40
MAX_PARALLEL_TRAINING_JOBS = 10
# botocore IntegerMinValue / IntegerMaxValue / ContinuousMinValue bounds.
WIRE_RANGE_MIN = -1_000_000.0
WIRE_RANGE_MAX = 1_000_000.0
MAX_CATEGORICAL_VALUES = 100

TREND_DISCOVERY_FREQUENCIES: dict[str, float] = {
    "30 minutes": 1800.0,
    "1 hour": 3600.0,
    "2 hours": 7200.0,
    "3 hours": 10800.0,
    "1 day": 86400.0,
}


@dataclass(frozen=True)
class HyperParameter:
    """One hyperparameter of one recipe.

    ``featurization`` parameters go in ``featureTransformationParameters``, the others in
    ``algorithmHyperParameters``. ``hpo_only`` parameters can only be set through an HPO range
    (spec: similar-items hidden dimensions). ``values`` lists the allowed values of categorical
    and bool parameters (compared case-insensitively).
    """

    name: str
    kind: Kind
    default: str
    min_value: float | None = None
    max_value: float | None = None
    values: tuple[str, ...] = ()
    tunable: bool = False
    featurization: bool = False
    hpo_only: bool = False

    def parse(self, value: str) -> int | float | bool | str:
        """The typed value of a wire string; raises InvalidInputException naming the rule."""
        text = value.strip()
        if self.kind == "int":
            try:
                number: float = int(text)
            except ValueError:
                raise InvalidInputException(
                    f"Invalid value for hyperparameter {self.name}: {value!r} is not an integer."
                ) from None
            self._check_range(number, value)
            return int(number)
        if self.kind == "float":
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise InvalidInputException(
                    f"Invalid value for hyperparameter {self.name}: {value!r} is not a number."
                )
            self._check_range(number, value)
            return number
        if self.kind == "bool":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise InvalidInputException(
                    f"Invalid value for hyperparameter {self.name}: {value!r} must be true or "
                    "false."
                )
            return lowered == "true"
        canonical = {v.lower(): v for v in self.values}
        found = canonical.get(text.lower())
        if found is None:
            allowed = ", ".join(self.values)
            raise InvalidInputException(
                f"Invalid value for hyperparameter {self.name}: {value!r} must be one of "
                f"[{allowed}]."
            )
        return found

    def _check_range(self, number: float, raw: str) -> None:
        low, high = self.min_value, self.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            raise InvalidInputException(
                f"Invalid value for hyperparameter {self.name}: {raw!r} must be within "
                f"[{_fmt(low)}, {_fmt(high)}]."
            )


def _fmt(bound: float | None) -> str:
    if bound is None:
        return "unbounded"
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _int(
    name: str,
    default: int,
    low: int,
    high: int,
    *,
    tunable: bool = False,
    featurization: bool = False,
    hpo_only: bool = False,
) -> HyperParameter:
    return HyperParameter(
        name, "int", str(default), low, high, (), tunable, featurization, hpo_only
    )


def _float(
    name: str,
    default: float,
    low: float,
    high: float,
    *,
    tunable: bool = False,
    featurization: bool = False,
) -> HyperParameter:
    return HyperParameter(name, "float", str(default), low, high, (), tunable, featurization)


def _bool(name: str, default: bool, *, tunable: bool = False) -> HyperParameter:
    return HyperParameter(
        name, "bool", "true" if default else "false", None, None, ("true", "false"), tunable
    )


def _percentiles(low: float, high: float) -> tuple[HyperParameter, HyperParameter]:
    return (
        _float("min_user_history_length_percentile", low, 0.0, 1.0, featurization=True),
        _float("max_user_history_length_percentile", high, 0.0, 1.0, featurization=True),
    )


_HIDDEN_149 = _int("hidden_dimension", 149, 32, 256, tunable=True)
_HIDDEN_43 = _int("hidden_dimension", 43, 32, 256, tunable=True)
_HRNN_COMMON = (
    _int("bptt", 32, 2, 32, tunable=True),
    _bool("recency_mask", True, tunable=True),
    *_percentiles(0.0, 0.99),
)

RECIPE_HYPERPARAMETERS: dict[str, tuple[HyperParameter, ...]] = {
    "aws-user-personalization-v2": (_bool("apply_recency_bias", True),),
    "aws-personalized-ranking-v2": (_bool("apply_recency_bias", True),),
    "aws-user-personalization": (
        _int("hidden_dimension", 149, 32, 256, tunable=True),
        *_HRNN_COMMON,
    ),
    "aws-personalized-ranking": (
        _int("hidden_dimension", 149, 32, 256, tunable=True),
        *_HRNN_COMMON,
    ),
    "aws-hrnn": (_HIDDEN_43, *_HRNN_COMMON),
    "aws-hrnn-metadata": (_HIDDEN_43, *_HRNN_COMMON),
    "aws-hrnn-coldstart": (
        _int("hidden_dimension", 149, 32, 256, tunable=True),
        *_HRNN_COMMON,
        _int("cold_start_max_interactions", 15, 1, 1_000_000),
        _float("cold_start_max_duration", 5.0, 1e-6, 1e6),
        HyperParameter(
            "cold_start_relative_from",
            "categorical",
            "latestItem",
            values=("latestItem", "currentTime"),
        ),
    ),
    "aws-trending-now": (
        HyperParameter(
            "trend_discovery_frequency",
            "categorical",
            "2 hours",
            values=tuple(TREND_DISCOVERY_FREQUENCIES),
            featurization=True,
        ),
    ),
    "aws-popularity-count": (),
    "aws-sims": (
        _float("popularity_discount_factor", 0.5, 0.0, 1.0, tunable=True),
        _int("min_cointeraction_count", 3, 0, 10, tunable=True),
        *_percentiles(0.005, 0.995),
        _float("min_item_interaction_count_percentile", 0.01, 0.0, 1.0, featurization=True),
        _float("max_item_interaction_count_percentile", 0.9, 0.0, 1.0, featurization=True),
    ),
    "aws-similar-items": (
        _float("popularity_discount_factor", 0.0, 0.0, 1.0),
        _int("item_id_hidden_dim", 100, 30, 200, tunable=True, hpo_only=True),
        _int("item_metadata_hidden_dim", 100, 30, 200, tunable=True, hpo_only=True),
    ),
    "aws-semantic-similarity": (),
    "aws-next-best-action": (
        _int("action_optimization_period", 14, 7, 28, featurization=True),
        # openpersonalize extension: AWS's fixed minimum of TAKEN and NOT_TAKEN/VIEWED events
        # an action needs for a non-zero score; lowered for small tests and demos.
        _int("min_action_interactions", 50, 0, 1_000_000),
    ),
    "aws-item-affinity": (_int("hidden_dimension", 149, 32, 256),),
    "aws-item-attribute-affinity": (_int("hidden_dimension", 149, 32, 256),),
}


def definitions(recipe_name: str) -> tuple[HyperParameter, ...]:
    """The hyperparameter definitions of a recipe; InvalidInputException for unknown recipes."""
    try:
        return RECIPE_HYPERPARAMETERS[recipe_name]
    except KeyError:
        raise InvalidInputException(f"Unknown recipe: {recipe_name}.") from None


def _by_name(recipe_name: str) -> dict[str, HyperParameter]:
    return {hp.name: hp for hp in definitions(recipe_name)}


def validate(
    recipe_name: str,
    algorithm_hyperparameters: Mapping[str, str] | None = None,
    feature_transformation_parameters: Mapping[str, str] | None = None,
    *,
    allow_hpo_only: bool = False,
) -> dict[str, str]:
    """Check the solution's parameters and return the effective ones, defaults filled in.

    The result maps every parameter of the recipe (algorithm and featurization alike) to its wire
    string; supplied values are kept as sent (stripped). ``allow_hpo_only`` is set by the HPO
    driver, which may set parameters a user can only reach through a range.
    """
    known = _by_name(recipe_name)
    effective = {hp.name: hp.default for hp in known.values()}
    for source, supplied, want_featurization in (
        ("algorithmHyperParameters", algorithm_hyperparameters or {}, False),
        ("featureTransformationParameters", feature_transformation_parameters or {}, True),
    ):
        for name, value in supplied.items():
            hp = known.get(name)
            if hp is None:
                allowed = ", ".join(sorted(known)) or "none"
                raise InvalidInputException(
                    f"Unknown hyperparameter {name!r} in {source} for recipe {recipe_name} "
                    f"(allowed: {allowed})."
                )
            if hp.featurization != want_featurization:
                where = (
                    "featureTransformationParameters"
                    if hp.featurization
                    else "algorithmHyperParameters"
                )
                raise InvalidInputException(
                    f"Hyperparameter {name} of recipe {recipe_name} belongs in {where}, "
                    f"not {source}."
                )
            if hp.hpo_only and not allow_hpo_only:
                raise InvalidInputException(
                    f"Hyperparameter {name} of recipe {recipe_name} can only be set through "
                    "hpoConfig.algorithmHyperParameterRanges."
                )
            if not isinstance(value, str):
                raise InvalidInputException(
                    f"Invalid value for hyperparameter {name}: values must be strings."
                )
            hp.parse(value)
            effective[name] = value.strip()
    return effective


# --- typed access for recipes -------------------------------------------------------------


def _lookup(params: Mapping[str, str], recipe_name: str, name: str) -> tuple[HyperParameter, str]:
    hp = _by_name(recipe_name).get(name)
    if hp is None:
        raise KeyError(f"{recipe_name} has no hyperparameter {name}")
    return hp, params.get(name, hp.default)


def get_int(params: Mapping[str, str], recipe_name: str, name: str) -> int:
    hp, raw = _lookup(params, recipe_name, name)
    return int(hp.parse(raw))


def get_float(params: Mapping[str, str], recipe_name: str, name: str) -> float:
    hp, raw = _lookup(params, recipe_name, name)
    return float(hp.parse(raw))


def get_bool(params: Mapping[str, str], recipe_name: str, name: str) -> bool:
    hp, raw = _lookup(params, recipe_name, name)
    return bool(hp.parse(raw))


def get_str(params: Mapping[str, str], recipe_name: str, name: str) -> str:
    hp, raw = _lookup(params, recipe_name, name)
    return str(hp.parse(raw))


# --- DescribeAlgorithm / DescribeFeatureTransformation ---------------------------------------


def default_hyperparameters(recipe_name: str) -> dict[str, str]:
    """``Algorithm.defaultHyperParameters``: algorithm (not featurization) defaults as strings."""
    return {hp.name: hp.default for hp in definitions(recipe_name) if not hp.featurization}


def default_featurization_parameters(recipe_name: str) -> dict[str, str]:
    """``FeatureTransformation.defaultParameters`` of the recipe's feature transformation."""
    return {hp.name: hp.default for hp in definitions(recipe_name) if hp.featurization}


def default_hyperparameter_ranges(recipe_name: str) -> dict[str, list[dict[str, Any]]]:
    """``Algorithm.defaultHyperParameterRanges`` in the botocore shape.

    ``{"integerHyperParameterRanges": [{name, minValue, maxValue, isTunable}],
    "continuousHyperParameterRanges": [...], "categoricalHyperParameterRanges": [{name, values,
    isTunable}]}``; bools are categorical ``["true", "false"]``.
    """
    ranges: dict[str, list[dict[str, Any]]] = {
        "integerHyperParameterRanges": [],
        "continuousHyperParameterRanges": [],
        "categoricalHyperParameterRanges": [],
    }
    for hp in definitions(recipe_name):
        if hp.featurization:
            continue
        if hp.kind == "int":
            ranges["integerHyperParameterRanges"].append(
                {
                    "name": hp.name,
                    "minValue": int(hp.min_value or 0),
                    "maxValue": int(hp.max_value or 0),
                    "isTunable": hp.tunable,
                }
            )
        elif hp.kind == "float":
            ranges["continuousHyperParameterRanges"].append(
                {
                    "name": hp.name,
                    "minValue": float(hp.min_value or 0.0),
                    "maxValue": float(hp.max_value or 0.0),
                    "isTunable": hp.tunable,
                }
            )
        else:
            ranges["categoricalHyperParameterRanges"].append(
                {"name": hp.name, "values": list(hp.values), "isTunable": hp.tunable}
            )
    return ranges


# --- HPO -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterRange:
    """One validated search dimension: ints/floats by bounds, categoricals by values."""

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    values: tuple[str, ...] = ()

    def sample(self, rng: np.random.Generator) -> str:
        if self.kind == "int":
            return str(int(rng.integers(int(self.low), int(self.high) + 1)))
        if self.kind == "float":
            return repr(float(rng.uniform(self.low, self.high)))
        return str(self.values[int(rng.integers(len(self.values)))])

    def grid(self) -> list[str] | None:
        """All values when the dimension is small and discrete, else None."""
        if self.kind == "int" and self.high - self.low < 16:
            return [str(v) for v in range(int(self.low), int(self.high) + 1)]
        if self.kind in ("bool", "categorical"):
            return list(self.values)
        return None


@dataclass(frozen=True)
class HpoPlan:
    """A validated ``hpoConfig``: the search space and the job budget."""

    ranges: tuple[ParameterRange, ...]
    max_jobs: int
    max_parallel_jobs: int


@dataclass(frozen=True)
class HpoResult:
    best_params: dict[str, str]
    best_score: float
    trials: tuple[tuple[dict[str, str], float], ...]


def _resource(config: Mapping[str, Any], key: str, default: int, limit: int) -> int:
    raw = config.get(key)
    if raw is None:
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidInputException(
            f"Invalid hpoResourceConfig.{key}: {raw!r} is not an integer."
        ) from None
    if not 1 <= value <= limit:
        raise InvalidInputException(
            f"Invalid hpoResourceConfig.{key}: {value} must be between 1 and {limit}."
        )
    return value


def parse_ranges(recipe_name: str, ranges: Mapping[str, Any] | None) -> tuple[ParameterRange, ...]:
    """Validate ``algorithmHyperParameterRanges`` (wire form) against the recipe's definitions."""
    known = _by_name(recipe_name)
    out: list[ParameterRange] = []
    seen: set[str] = set()
    lists = (
        ("integerHyperParameterRanges", "int"),
        ("continuousHyperParameterRanges", "float"),
        ("categoricalHyperParameterRanges", "categorical"),
    )
    for key, wire_kind in lists:
        for entry in (ranges or {}).get(key) or []:
            name = str(entry.get("name", ""))
            hp = known.get(name)
            if hp is None:
                raise InvalidInputException(
                    f"Unknown hyperparameter {name!r} in {key} for recipe {recipe_name}."
                )
            if not hp.tunable:
                raise InvalidInputException(
                    f"Hyperparameter {name} of recipe {recipe_name} is not tunable."
                )
            if name in seen:
                raise InvalidInputException(f"Hyperparameter {name} has more than one range.")
            seen.add(name)
            kind_ok = hp.kind == wire_kind or (wire_kind == "categorical" and hp.kind == "bool")
            if not kind_ok:
                raise InvalidInputException(
                    f"Hyperparameter {name} of recipe {recipe_name} is {hp.kind}; "
                    f"it cannot be given in {key}."
                )
            if wire_kind == "categorical":
                values = [str(v) for v in entry.get("values") or []]
                if not 1 <= len(values) <= MAX_CATEGORICAL_VALUES:
                    raise InvalidInputException(
                        f"Categorical range of {name} needs 1 to {MAX_CATEGORICAL_VALUES} values."
                    )
                out.append(
                    ParameterRange(
                        name,
                        hp.kind,
                        values=tuple(
                            str(hp.parse(v)).lower() if hp.kind == "bool" else str(hp.parse(v))
                            for v in values
                        ),
                    )
                )
                continue
            try:
                low = float(entry["minValue"])
                high = float(entry["maxValue"])
            except (KeyError, TypeError, ValueError):
                raise InvalidInputException(
                    f"Range of {name} needs numeric minValue and maxValue."
                ) from None
            if wire_kind == "int" and not (low.is_integer() and high.is_integer()):
                raise InvalidInputException(f"Range of {name} needs integer bounds.")
            if not (WIRE_RANGE_MIN <= low <= WIRE_RANGE_MAX and high <= WIRE_RANGE_MAX):
                raise InvalidInputException(f"Range of {name} must lie within [-1000000, 1000000].")
            if low > high:
                raise InvalidInputException(
                    f"Range of {name}: minValue {_fmt(low)} is greater than maxValue {_fmt(high)}."
                )
            for bound in (low, high):
                raw = str(int(bound)) if wire_kind == "int" else repr(bound)
                hp.parse(raw)  # raises naming the allowed interval
            out.append(ParameterRange(name, hp.kind, low, high))
    return tuple(out)


def validate_hpo_config(recipe_name: str, hpo_config: Mapping[str, Any] | None) -> HpoPlan:
    """Validate a ``solutionConfig.hpoConfig`` (wire form) and return the search plan.

    ``hpoObjective`` is accepted but ignored (Personalize does not let it be configured); the
    budget defaults to AWS's documented maximums when absent.
    """
    config = hpo_config or {}
    resources = config.get("hpoResourceConfig") or {}
    max_jobs = _resource(resources, "maxNumberOfTrainingJobs", MAX_TRAINING_JOBS, MAX_TRAINING_JOBS)
    max_parallel = _resource(
        resources, "maxParallelTrainingJobs", MAX_PARALLEL_TRAINING_JOBS, MAX_PARALLEL_TRAINING_JOBS
    )
    if max_parallel > max_jobs:
        raise InvalidInputException(
            "hpoResourceConfig.maxParallelTrainingJobs must not exceed maxNumberOfTrainingJobs."
        )
    ranges = parse_ranges(recipe_name, config.get("algorithmHyperParameterRanges"))
    return HpoPlan(ranges, max_jobs, max_parallel)


def _candidates(
    space: Sequence[ParameterRange], max_jobs: int, rng: np.random.Generator
) -> list[dict[str, str]]:
    grids = [r.grid() for r in space]
    if all(g is not None for g in grids):
        full = [g for g in grids if g is not None]
        size = math.prod(len(g) for g in full)
        if size <= max_jobs:
            return [
                dict(zip((r.name for r in space), combo, strict=True))
                for combo in itertools.product(*full)
            ]
    out: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    attempts = 0
    while len(out) < max_jobs and attempts < max_jobs * 20:
        attempts += 1
        candidate = {r.name: r.sample(rng) for r in space}
        key = tuple(candidate[r.name] for r in space)
        if key not in seen:
            seen.add(key)
            out.append(candidate)
    return out


def hpo_search(
    recipe_name: str,
    ranges: Mapping[str, Any] | None,
    max_jobs: int,
    evaluate_fn: Callable[[dict[str, str]], float],
    rng: np.random.Generator,
    base_params: Mapping[str, str] | None = None,
) -> HpoResult:
    """Search the ranges and return the parameters with the highest ``evaluate_fn`` score.

    Small discrete spaces are searched exhaustively; otherwise ``max_jobs`` distinct random
    points (uniform within each range) are drawn from ``rng``. ``base_params`` (the solution's
    effective parameters) fix everything outside the ranges. The first trial always includes the
    fixed parameters' own values for the tuned names when they lie inside the ranges, so HPO
    never does worse than no HPO on the validation data.
    """
    if not 1 <= max_jobs <= MAX_TRAINING_JOBS:
        raise InvalidInputException(
            f"maxNumberOfTrainingJobs must be between 1 and {MAX_TRAINING_JOBS}."
        )
    space = parse_ranges(recipe_name, ranges)
    base = validate(recipe_name, allow_hpo_only=True)
    base.update(base_params or {})
    points = _candidates(space, max_jobs, rng)
    default_point = {r.name: base[r.name] for r in space if _inside(r, base[r.name])}
    if len(default_point) == len(space) and default_point not in points:
        points = [default_point, *points[: max_jobs - 1]]
    if not points:
        points = [{}]
    trials: list[tuple[dict[str, str], float]] = []
    for point in points:
        params = dict(base)
        params.update(point)
        score = float(evaluate_fn(params))
        trials.append((params, score))
    best_params, best_score = max(trials, key=lambda t: t[1] if math.isfinite(t[1]) else -math.inf)
    return HpoResult(best_params, best_score, tuple(trials))


def _inside(r: ParameterRange, raw: str) -> bool:
    if r.kind in ("int", "float"):
        return r.low <= float(raw) <= r.high
    return raw.lower() in (v.lower() for v in r.values)


def recipes() -> Iterable[str]:
    return RECIPE_HYPERPARAMETERS.keys()
