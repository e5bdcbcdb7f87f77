"""The ``itemAttributes`` query of aws-item-attribute-affinity batch segment lines (spec §8.2).

Grammar (keywords case-insensitive, column names matched case-insensitively against the Items
schema)::

    query      := condition ( "AND" condition )*
    condition  := "ITEMS." COLUMN "=" value
                | "ITEMS." COLUMN "IN" "(" value ( "," value )* ")"
    value      := STRING | NUMBER          ; STRING in double quotes, \\" and \\\\ escaped

AWS documents ``=`` joined by ``AND`` (users likely to engage with items that have every
attribute); ``IN`` (any of the values) is accepted as well because the examples use it.
:func:`parse_query` raises :class:`QueryError` with the position of the first mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPACE = re.compile(r"\s*")
_FIELD = re.compile(r"ITEMS\.([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_OP = re.compile(r"(=|IN\b)", re.IGNORECASE)
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_AND = re.compile(r"AND\b", re.IGNORECASE)
MAX_QUERY_CHARS = 2000


class QueryError(ValueError):
    """A malformed query; the message says where and what was expected."""


@dataclass(frozen=True)
class AttributeCondition:
    column: str  # as written (case is resolved against the schema later)
    values: tuple[str | float, ...]  # str for quoted values, float for numbers; any may match


def _value(text: str, pos: int) -> tuple[str | float, int]:
    string = _STRING.match(text, pos)
    if string is not None:
        return re.sub(r"\\(.)", r"\1", string.group(1)), string.end()
    number = _NUMBER.match(text, pos)
    if number is not None:
        return float(number.group(0)), number.end()
    raise QueryError(
        f'expected a value ("text" in double quotes, or a number) at position {pos + 1}'
    )


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def parse_query(text: str) -> list[AttributeCondition]:
    if not text.strip():
        raise QueryError("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    conditions: list[AttributeCondition] = []
    pos = _skip(text, 0)
    while True:
        field = _FIELD.match(text, pos)
        if field is None:
            raise QueryError(f"expected ITEMS.<column> at position {pos + 1}")
        pos = _skip(text, field.end())
        op = _OP.match(text, pos)
        if op is None:
            raise QueryError(f"expected = or IN after ITEMS.{field.group(1)} at position {pos + 1}")
        pos = _skip(text, op.end())
        values: list[str | float] = []
        if op.group(1) == "=":
            value, pos = _value(text, pos)
            values.append(value)
        else:
            if not text.startswith("(", pos):
                raise QueryError(f"expected ( after IN at position {pos + 1}")
            pos = _skip(text, pos + 1)
            while True:
                value, pos = _value(text, pos)
                values.append(value)
                pos = _skip(text, pos)
                if text.startswith(",", pos):
                    pos = _skip(text, pos + 1)
                    continue
                if text.startswith(")", pos):
                    pos += 1
                    break
                raise QueryError(f"expected , or ) at position {pos + 1}")
        conditions.append(AttributeCondition(field.group(1), tuple(values)))
        pos = _skip(text, pos)
        if pos >= len(text):
            return conditions
        joiner = _AND.match(text, pos)
        if joiner is None:
            raise QueryError(
                f"expected AND or the end of the query at position {pos + 1} (conditions can "
                "only be joined with AND)"
            )
        pos = _skip(text, joiner.end())
