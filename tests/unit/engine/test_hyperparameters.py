"""Hyperparameter validation, DescribeAlgorithm defaults and the HPO driver."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openpersonalize.engine import hyperparameters as hp
from openpersonalize.errors import InvalidInputException


def test_defaults_are_filled_and_valid() -> None:
    for recipe in hp.recipes():
        effective = hp.validate(recipe, allow_hpo_only=True)
        assert set(effective) == {d.name for d in hp.definitions(recipe)}
        for d in hp.definitions(recipe):
            d.parse(effective[d.name])


def test_sims_defaults_match_the_spec() -> None:
    effective = hp.validate("aws-sims")
    assert effective["popularity_discount_factor"] == "0.5"
    assert effective["min_cointeraction_count"] == "3"
    assert (
        hp.default_featurization_parameters("aws-sims")["max_item_interaction_count_percentile"]
        == "0.9"
    )
    assert hp.default_featurization_parameters("aws-trending-now") == {
        "trend_discovery_frequency": "2 hours"
    }


@pytest.mark.parametrize(
    ("algorithm", "features", "match"),
    [
        ({"nope": "1"}, None, "Unknown hyperparameter 'nope'"),
        ({"min_cointeraction_count": "11"}, None, r"min_cointeraction_count.*\[0, 10\]"),
        ({"min_cointeraction_count": "2.5"}, None, "not an integer"),
        ({"popularity_discount_factor": "abc"}, None, "not a number"),
        ({"popularity_discount_factor": "nan"}, None, "not a number"),
        (None, {"popularity_discount_factor": "0.1"}, "belongs in algorithmHyperParameters"),
        ({"min_user_history_length_percentile": "0.1"}, None, "featureTransformationParameters"),
    ],
)
def test_invalid_values_name_the_field_and_rule(
    algorithm: dict[str, str] | None, features: dict[str, str] | None, match: str
) -> None:
    with pytest.raises(InvalidInputException, match=match):
        hp.validate("aws-sims", algorithm, features)


def test_hpo_only_parameters() -> None:
    with pytest.raises(InvalidInputException, match="only be set through hpoConfig"):
        hp.validate("aws-similar-items", {"item_id_hidden_dim": "50"})


def test_bools_are_case_insensitive() -> None:
    assert hp.get_bool(
        hp.validate("aws-user-personalization", {"recency_mask": "True"}),
        "aws-user-personalization",
        "recency_mask",
    )
    with pytest.raises(InvalidInputException, match="true or false"):
        hp.validate("aws-user-personalization", {"recency_mask": "yes"})


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-50, max_value=300))
def test_integer_range_property(value: int) -> None:
    ok = 32 <= value <= 256
    try:
        hp.validate("aws-item-affinity", {"hidden_dimension": str(value)})
    except InvalidInputException as exc:
        assert not ok and "hidden_dimension" in exc.message
    else:
        assert ok


@settings(max_examples=60, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_range_property(value: float) -> None:
    ok = 0.0 <= value <= 1.0
    try:
        hp.validate("aws-sims", {"popularity_discount_factor": repr(value)})
    except InvalidInputException:
        assert not ok
    else:
        assert ok


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=12))
def test_unknown_text_never_crashes(value: str) -> None:
    with contextlib.suppress(InvalidInputException):
        hp.validate("aws-sims", {"min_cointeraction_count": value})


def test_default_ranges_have_botocore_shape() -> None:
    ranges = hp.default_hyperparameter_ranges("aws-user-personalization")
    assert {"name": "hidden_dimension", "minValue": 32, "maxValue": 256, "isTunable": True} in (
        ranges["integerHyperParameterRanges"]
    )
    assert {"name": "recency_mask", "values": ["true", "false"], "isTunable": True} in (
        ranges["categoricalHyperParameterRanges"]
    )
    # featurization parameters are not algorithm hyperparameters
    names = [r["name"] for r in ranges["continuousHyperParameterRanges"]]
    assert "min_user_history_length_percentile" not in names
    assert hp.default_hyperparameters("aws-sims") == {
        "popularity_discount_factor": "0.5",
        "min_cointeraction_count": "3",
    }


SIMS_RANGES = {
    "integerHyperParameterRanges": [
        {"name": "min_cointeraction_count", "minValue": 0, "maxValue": 10}
    ],
    "continuousHyperParameterRanges": [
        {"name": "popularity_discount_factor", "minValue": 0.0, "maxValue": 1.0}
    ],
    "categoricalHyperParameterRanges": [],
}


def test_hpo_config_limits() -> None:
    plan = hp.validate_hpo_config(
        "aws-sims",
        {
            "hpoResourceConfig": {"maxNumberOfTrainingJobs": "8", "maxParallelTrainingJobs": "2"},
            "algorithmHyperParameterRanges": SIMS_RANGES,
        },
    )
    assert plan.max_jobs == 8 and len(plan.ranges) == 2
    for bad, match in [
        ({"hpoResourceConfig": {"maxNumberOfTrainingJobs": "41"}}, "between 1 and 40"),
        ({"hpoResourceConfig": {"maxParallelTrainingJobs": "11"}}, "between 1 and 10"),
        (
            {
                "algorithmHyperParameterRanges": {
                    "integerHyperParameterRanges": [
                        {"name": "min_cointeraction_count", "minValue": 0, "maxValue": 11}
                    ]
                }
            },
            r"\[0, 10\]",
        ),
        (
            {
                "algorithmHyperParameterRanges": {
                    "continuousHyperParameterRanges": [
                        {"name": "min_user_history_length_percentile", "minValue": 0, "maxValue": 1}
                    ]
                }
            },
            "Unknown hyperparameter|not tunable",
        ),
        (
            {
                "algorithmHyperParameterRanges": {
                    "integerHyperParameterRanges": [
                        {"name": "min_cointeraction_count", "minValue": 5, "maxValue": 2}
                    ]
                }
            },
            "greater than",
        ),
    ]:
        with pytest.raises(InvalidInputException, match=match):
            hp.validate_hpo_config("aws-sims", bad)
    with pytest.raises(InvalidInputException, match="not tunable"):
        hp.validate_hpo_config(
            "aws-similar-items",
            {
                "algorithmHyperParameterRanges": {
                    "continuousHyperParameterRanges": [
                        {"name": "popularity_discount_factor", "minValue": 0, "maxValue": 1}
                    ]
                }
            },
        )


def test_hpo_search_finds_the_optimum_deterministically() -> None:
    def score(params: dict[str, str]) -> float:
        return -abs(float(params["popularity_discount_factor"]) - 0.8) - 0.01 * abs(
            int(params["min_cointeraction_count"]) - 2
        )

    a = hp.hpo_search("aws-sims", SIMS_RANGES, 30, score, np.random.default_rng(1))
    b = hp.hpo_search("aws-sims", SIMS_RANGES, 30, score, np.random.default_rng(1))
    assert a.best_params == b.best_params
    assert len(a.trials) == 30
    assert abs(float(a.best_params["popularity_discount_factor"]) - 0.8) < 0.15
    # defaults are always tried first, so HPO never loses to no HPO
    assert a.trials[0][0]["popularity_discount_factor"] == "0.5"
    assert a.best_score >= score(hp.validate("aws-sims"))


def test_hpo_grid_for_small_discrete_spaces() -> None:
    ranges = {
        "categoricalHyperParameterRanges": [{"name": "recency_mask", "values": ["true", "false"]}],
        "integerHyperParameterRanges": [{"name": "bptt", "minValue": 2, "maxValue": 4}],
    }
    seen: list[tuple[str, str]] = []

    def score(params: dict[str, str]) -> float:
        seen.append((params["recency_mask"], params["bptt"]))
        return float(params["bptt"]) + (params["recency_mask"] == "false")

    result = hp.hpo_search("aws-user-personalization", ranges, 40, score, np.random.default_rng(0))
    assert len(set(seen)) == 6
    assert result.best_params["bptt"] == "4" and result.best_params["recency_mask"] == "false"
