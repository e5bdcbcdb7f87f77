"""A slow, obviously-correct evaluator of bound filters, one candidate at a time.

It shares nothing with :mod:`.compiler` except the bound filter and the data; tests check that
the vectorised masks agree with it row by row. Not for production use.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt

from openpersonalize.filtering.ast import Action, Op, Target
from openpersonalize.filtering.compiler import BoundCondition, BoundFilter
from openpersonalize.filtering.data import (
    CategoricalColumn,
    FilterData,
    NumericColumn,
    RowValue,
    event_type_key,
)


def reference_mask(bound: BoundFilter, data: FilterData) -> npt.NDArray[np.bool_]:
    events = _recent_events(data)
    keep = []
    for row in range(data.n_candidates):
        included: bool | None = None
        excluded = False
        for e in bound.expressions:
            if not all(_holds(c, _current_user_value(c, data), data) for c in e.if_conditions):
                continue
            matched = any(
                all(_row_holds(c, e.target, row, data, events) for c in group) for group in e.where
            )
            if e.action is Action.INCLUDE:
                included = bool(included) or matched
            else:
                excluded = excluded or matched
        keep.append((included is None or included) and not excluded)
    return np.asarray(keep, dtype=np.bool_).reshape(data.n_candidates)


def _recent_events(data: FilterData) -> list[tuple[str, int]]:
    """(event type key, candidate position) of the events within the history depth."""
    seen: Counter[str] = Counter()
    kept: list[tuple[str, int]] = []
    for event_type, target_id in reversed(list(data.events)):
        key = event_type_key(event_type)
        seen[key] += 1
        if seen[key] > data.history_depth or data.candidate_index is None:
            continue
        position = data.candidate_index.index(target_id)
        if 0 <= position < data.n_candidates:
            kept.append((key, position))
    return kept


def _current_user_value(c: BoundCondition, data: FilterData) -> RowValue:
    if data.current_user is None:
        return _NO_USER
    return data.current_user.get(c.field.column)


_NO_USER: RowValue = ("\0no current user",)


def _row_holds(
    c: BoundCondition,
    target: Target,
    row: int,
    data: FilterData,
    events: list[tuple[str, int]],
) -> bool:
    if c.kind == "event":
        if target is Target.USER_ID:
            col = data.candidate_event_types
            keys = [event_type_key(s) for s in col.row(row)] if col is not None else []
        else:
            keys = [key for key, position in events if position == row]
        return any(_event_holds(c, key) for key in keys)
    column = data.attributes.get(c.field.column)
    value: RowValue = None
    if c.kind == "string" and isinstance(column, CategoricalColumn):
        value = column.row(row)
    if c.kind == "numeric" and isinstance(column, NumericColumn):
        value = column.row(row)
    return _holds(c, value, data)


def _event_holds(c: BoundCondition, key: str) -> bool:
    positive = c.wildcard or key in c.strings
    return positive if c.op in (Op.IN, Op.EQ) else not positive


def _holds(c: BoundCondition, value: RowValue, data: FilterData) -> bool:
    if value is _NO_USER:
        return False
    negative = c.op in (Op.NOT_IN, Op.NE)
    if c.current_item is not None:
        item_value = (data.current_item or {}).get(c.current_item)
    if c.kind == "string":
        if c.current_item is not None:
            wanted = set(item_value) if isinstance(item_value, tuple) else set()
        else:
            wanted = set(c.strings)
        cells = value if isinstance(value, tuple) else ()
        found = False
        for cell in cells:
            if cell in wanted:
                found = True
        return not found if negative else found
    if c.current_item is not None:
        numbers = [float(item_value)] if isinstance(item_value, float | int) else []
    else:
        numbers = list(c.numbers)
    numbers = [x for x in numbers if x == x]
    if not isinstance(value, float | int) or value != value or not numbers:
        return negative
    x = float(value)
    if c.op is Op.IN:
        return x in numbers
    if c.op is Op.NOT_IN:
        return x not in numbers
    y = numbers[0]
    if c.op is Op.EQ:
        return x == y
    if c.op is Op.NE:
        return x != y
    if c.op is Op.LT:
        return x < y
    if c.op is Op.LE:
        return x <= y
    if c.op is Op.GT:
        return x > y
    return x >= y
