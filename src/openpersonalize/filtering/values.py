"""``filterValues``: the request's values for a filter's placeholders.

Each value is one string holding the values wrapped in double quotes and separated by commas,
as AWS documents it: ``'"horror","comedy"'`` → ``("horror", "comedy")``. Bare numbers
(``'10'``, ``'1.5, 2'``) are accepted too, since AWS does not document numeric quoting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from openpersonalize.errors import InvalidInputException

MAX_FILTER_VALUES = 25
MAX_KEY_LENGTH = 50
MAX_VALUE_LENGTH = 1000
_KEY = re.compile(r"[A-Za-z0-9_]+")
_BARE_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def check_filter_values(filter_values: Mapping[str, str] | None) -> dict[str, tuple[str, ...]]:
    """Check the request's ``filterValues`` map and split every entry into its values.

    Keys not used by the filter are allowed (and ignored). Raises InvalidInputException for
    more than 25 entries, a malformed key, an over-long value or malformed quoting.
    """
    if not filter_values:
        return {}
    if len(filter_values) > MAX_FILTER_VALUES:
        raise InvalidInputException(
            f"filterValues has {len(filter_values)} entries; the maximum is {MAX_FILTER_VALUES}."
        )
    out: dict[str, tuple[str, ...]] = {}
    for key, raw in filter_values.items():
        if not _KEY.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
            raise InvalidInputException(
                f"filterValues key {key!r} must match [A-Za-z0-9_]+ and be at most "
                f"{MAX_KEY_LENGTH} characters (the placeholder name without '$')."
            )
        if len(raw) > MAX_VALUE_LENGTH:
            raise InvalidInputException(
                f"filterValues[{key}] is {len(raw)} characters long; the maximum is "
                f"{MAX_VALUE_LENGTH}."
            )
        out[key] = parse_filter_value(raw, key)
    return out


def parse_filter_value(raw: str, key: str = "") -> tuple[str, ...]:
    """Split one filterValues string: ``'"a","b"'`` → ``("a", "b")``; ``'1, 2.5'`` → ``("1",
    "2.5")``. Inside quotes, ``\\"`` and ``\\\\`` are escapes. An empty or blank string gives
    ``()`` (treated like a missing value).
    """
    label = f"filterValues[{key}]" if key else "filter value"
    values: list[str] = []
    i = 0
    n = len(raw)
    expect_value = True
    while True:
        while i < n and raw[i].isspace():
            i += 1
        if i >= n:
            break
        if not expect_value:
            if raw[i] != ",":
                raise _bad(label, raw, i, "expected ',' between values")
            i += 1
            expect_value = True
            continue
        if raw[i] == '"':
            value, i = _read_quoted(raw, i, label)
            values.append(value)
        else:
            m = _BARE_NUMBER.match(raw, i)
            end = m.end() if m else i
            if m is None or (end < n and not raw[end].isspace() and raw[end] != ","):
                raise _bad(
                    label, raw, i, 'string values must be in double quotes, e.g. "\\"shoe\\""'
                )
            values.append(m.group())
            i = end
        expect_value = False
    if expect_value and values:
        raise _bad(label, raw, n, "a value is missing after the last ','")
    return tuple(values)


def _read_quoted(raw: str, start: int, label: str) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(raw):
        ch = raw[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in '"\\':
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise _bad(label, raw, start, "unterminated quoted value")


def _bad(label: str, raw: str, index: int, detail: str) -> InvalidInputException:
    return InvalidInputException(
        f"Invalid {label} {raw!r} at character {index + 1}: {detail}. Write each value in "
        'double quotes, separated by commas: "\\"a\\",\\"b\\"".'
    )


def format_filter_value(values: tuple[str, ...] | list[str]) -> str:
    """The inverse of :func:`parse_filter_value`: ``("a", "b")`` → ``'"a","b"'``."""
    return ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
