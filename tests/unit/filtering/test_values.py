from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering import format_filter_value, parse_filter_value
from openpersonalize.filtering.values import check_filter_values


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"v"', ("v",)),
        ('"a","b"', ("a", "b")),
        ('"horror", "comedy" ,"drama"', ("horror", "comedy", "drama")),
        ('"a,b"', ("a,b",)),
        (r'"say \"hi\""', ('say "hi"',)),
        ("10", ("10",)),
        ("1.5, -2, 3e2", ("1.5", "-2", "3e2")),
        ('"10", 20', ("10", "20")),
        ("", ()),
        ("   ", ()),
        ('""', ("",)),
    ],
)
def test_parse_filter_value(raw: str, expected: tuple[str, ...]) -> None:
    assert parse_filter_value(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("horror", "double quotes"),
        ('"a" "b"', "expected ','"),
        ('"a",', "missing after the last ','"),
        ('"a', "unterminated"),
        ("10abc", "double quotes"),
        (",", "double quotes"),
    ],
)
def test_malformed_filter_values(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidInputException, match=fragment):
        parse_filter_value(raw, "GENRE")


def test_check_filter_values_limits() -> None:
    assert check_filter_values({"G": '"a","b"'}) == {"G": ("a", "b")}
    assert check_filter_values(None) == {}
    with pytest.raises(InvalidInputException, match="maximum is 25"):
        check_filter_values({f"K{i}": '"x"' for i in range(26)})
    with pytest.raises(InvalidInputException, match="must match"):
        check_filter_values({"$G": '"x"'})
    with pytest.raises(InvalidInputException, match="maximum is 1000"):
        check_filter_values({"G": '"' + "x" * 1000 + '"'})


@given(st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_format_parse_round_trip(values: list[str]) -> None:
    assert parse_filter_value(format_filter_value(values)) == tuple(values)


@given(st.text(max_size=30))
def test_any_string_parses_or_is_invalid_input(raw: str) -> None:
    with contextlib.suppress(InvalidInputException):
        parse_filter_value(raw)
