"""Per request: bind ``filterValues`` to a validated filter, then compute the keep-mask.

:func:`bind` is the last place a request can be refused (missing or malformed values);
:func:`compile_mask` cannot fail. Semantics (see docs/filters.md):

* each expression gives a boolean mask over the candidates; the filter keeps
  ``(∪ active INCLUDEs, or everything when there is none) − (∪ active EXCLUDEs)``;
* an expression is inactive when its IF clause is false (or there is no current user), and an
  EXCLUDE expression is inactive when one of its placeholders has no value;
* attribute conditions: multi-valued cells match IN / = when any value matches; NOT IN / != are
  the negation of IN / = (so a missing value satisfies them); missing numbers fail < <= > >=;
* Interactions conditions: the candidate has, among the user's latest ``history_depth``
  events of each type, an event whose type satisfies the condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering.ast import (
    Action,
    Condition,
    CurrentItemRef,
    Dataset,
    Field,
    NumberLiteral,
    Op,
    Operand,
    Placeholder,
    StringLiteral,
    Target,
    UserCondition,
    ValueList,
    Wildcard,
)
from openpersonalize.filtering.data import (
    CategoricalColumn,
    FilterData,
    NumericColumn,
    RowValue,
    event_type_key,
    recent_events_by_type,
)
from openpersonalize.filtering.validate import EVENT_TYPE, ValidatedFilter
from openpersonalize.filtering.values import check_filter_values

Kind = Literal["numeric", "string", "event"]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BoundCondition:
    """A condition with every value known. ``strings`` are exact values (``event`` kind: event
    type keys); ``numbers`` are for ``numeric`` kind; ``wildcard``: ``*`` was in the list;
    ``current_item``: the Items column to read from the request item instead of the values."""

    field: Field
    kind: Kind
    op: Op
    strings: frozenset[str] = frozenset()
    numbers: tuple[float, ...] = ()
    wildcard: bool = False
    current_item: str | None = None


@dataclass(frozen=True)
class BoundExpression:
    action: Action
    target: Target
    where: tuple[tuple[BoundCondition, ...], ...]
    if_conditions: tuple[BoundCondition, ...]


@dataclass(frozen=True)
class BoundFilter:
    expressions: tuple[BoundExpression, ...]  # the active ones, in source order
    skipped: tuple[int, ...]  # source indices of EXCLUDE expressions skipped for missing values


def bind(validated: ValidatedFilter, filter_values: Mapping[str, str] | None) -> BoundFilter:
    """Resolve placeholders from the request's ``filterValues``.

    Raises InvalidInputException when an INCLUDE expression lacks a value, a value is malformed,
    a numeric field gets a non-number, or a single-valued operator gets several values.
    """
    values = check_filter_values(filter_values)
    bound: list[BoundExpression] = []
    skipped: list[int] = []
    for index, e in enumerate(validated.expression.expressions):
        operands = [c.operand for c in e.conditions] + [u.operand for u in e.if_conditions]
        missing = sorted(
            {o.name for o in operands if isinstance(o, Placeholder) and not values.get(o.name)}
        )
        if missing:
            if e.action is Action.EXCLUDE:
                skipped.append(index)
                continue
            names = ", ".join(missing)
            raise InvalidInputException(
                f"The filter's INCLUDE expression needs filterValues for {names} (the placeholder "
                'name without \'$\', e.g. {"GENRE": "\\"comedy\\""}).'
            )
        where = tuple(
            tuple(_bind_condition(validated, c, values) for c in group) for group in e.where
        )
        ifs = tuple(_bind_user_condition(validated, u, values) for u in e.if_conditions)
        bound.append(BoundExpression(e.action, e.target, where, ifs))
    return BoundFilter(tuple(bound), tuple(skipped))


def _bind_condition(
    vf: ValidatedFilter, c: Condition, values: Mapping[str, tuple[str, ...]]
) -> BoundCondition:
    f = c.field
    if f.dataset.is_interactions and f.column.upper() == EVENT_TYPE:
        kind: Kind = "event"
    else:
        kind = "numeric" if vf.columns[f].numeric else "string"
    return _bind(f, kind, c.op, c.operand, values, f"{f.dataset.value}.{f.column}")


def _bind_user_condition(
    vf: ValidatedFilter, u: UserCondition, values: Mapping[str, tuple[str, ...]]
) -> BoundCondition:
    f = Field(Dataset.USERS, u.column)
    kind: Kind = "numeric" if vf.columns[f].numeric else "string"
    return _bind(f, kind, u.op, u.operand, values, f"CurrentUser.{u.column}")


def _bind(
    f: Field,
    kind: Kind,
    op: Op,
    operand: Operand,
    values: Mapping[str, tuple[str, ...]],
    label: str,
) -> BoundCondition:
    if isinstance(operand, CurrentItemRef):
        return BoundCondition(f, kind, op, current_item=operand.column)
    if isinstance(operand, Placeholder):
        raw = values[operand.name]
        if not op.is_list and len(raw) != 1:
            raise InvalidInputException(
                f"filterValues[{operand.name}] must hold exactly one value for {label} "
                f"{op.value} ${operand.name}; it holds {len(raw)}."
            )
        texts: list[str] = list(raw)
        wildcard = False
    else:
        literals = operand.values if isinstance(operand, ValueList) else (operand,)
        wildcard = any(isinstance(v, Wildcard) for v in literals)
        texts = [
            v.value if isinstance(v, StringLiteral) else v.text
            for v in literals
            if isinstance(v, StringLiteral | NumberLiteral)
        ]
    if kind == "event":
        keys = {event_type_key(t) for t in texts}
        wildcard = wildcard or "*" in keys
        return BoundCondition(f, kind, op, strings=frozenset(keys - {"*"}), wildcard=wildcard)
    if kind == "numeric":
        numbers: list[float] = []
        for t in texts:
            try:
                number = float(t)
            except ValueError:
                number = float("nan")
            if number != number or number in (float("inf"), float("-inf")):
                raise InvalidInputException(
                    f"{label} is numeric; the filter value {t!r} is not a number."
                )
            numbers.append(number)
        return BoundCondition(f, kind, op, numbers=tuple(numbers))
    return BoundCondition(f, kind, op, strings=frozenset(texts))


# --- execution ----------------------------------------------------------------------------------


def compile_mask(bound: BoundFilter, data: FilterData) -> BoolArray:
    """The keep-mask, bool (n_candidates,). Never raises for a filter that passed :func:`bind`."""
    n = data.n_candidates
    include: BoolArray | None = None
    exclude = np.zeros(n, dtype=np.bool_)
    history: dict[str, npt.NDArray[np.int64]] | None = None
    for e in bound.expressions:
        if not all(_user_condition(c, data) for c in e.if_conditions):
            continue
        uses_events = any(c.kind == "event" for g in e.where for c in g)
        if history is None and uses_events and e.target is not Target.USER_ID:
            history = _history_positions(data)
        mask = np.zeros(n, dtype=np.bool_)
        for group in e.where:
            group_mask = np.ones(n, dtype=np.bool_)
            for c in group:
                group_mask &= _condition_mask(c, e.target, data, history or {})
            mask |= group_mask
        if e.action is Action.INCLUDE:
            include = mask if include is None else include | mask
        else:
            exclude |= mask
    keep = np.ones(n, dtype=np.bool_) if include is None else include
    return keep & ~exclude


def evaluate(
    validated: ValidatedFilter, filter_values: Mapping[str, str] | None, data: FilterData
) -> BoolArray:
    """:func:`bind` then :func:`compile_mask`: bool (n_candidates,), True = keep."""
    return compile_mask(bind(validated, filter_values), data)


def _history_positions(data: FilterData) -> dict[str, npt.NDArray[np.int64]]:
    """Event type key → candidate positions (distinct, int64) within the history depth."""
    out: dict[str, npt.NDArray[np.int64]] = {}
    if data.candidate_index is None:
        return out
    lookup = data.candidate_index.index
    for key, ids in recent_events_by_type(data.events, data.history_depth).items():
        positions = np.fromiter((lookup(i) for i in ids), dtype=np.int64, count=len(ids))
        out[key] = np.unique(positions[(positions >= 0) & (positions < data.n_candidates)])
    return out


def _event_selected(c: BoundCondition, key: str) -> bool:
    """Whether an event of type ``key`` satisfies the condition."""
    hit = c.wildcard or key in c.strings
    return hit if c.op in (Op.IN, Op.EQ) else not hit


def _condition_mask(
    c: BoundCondition,
    target: Target,
    data: FilterData,
    history: Mapping[str, npt.NDArray[np.int64]],
) -> BoolArray:
    n = data.n_candidates
    if c.kind == "event":
        if target is Target.USER_ID:
            col = data.candidate_event_types
            if col is None:
                return np.zeros(n, dtype=np.bool_)
            codes = [
                code for s, code in col.code_of.items() if _event_selected(c, event_type_key(s))
            ]
            return _any_code(col, np.asarray(codes, dtype=np.int64))
        mask = np.zeros(n, dtype=np.bool_)
        for key, positions in history.items():
            if _event_selected(c, key):
                mask[positions] = True
        return mask
    column = data.attributes.get(c.field.column)
    negated = c.op in (Op.NOT_IN, Op.NE)
    if c.kind == "string":
        wanted = _wanted_strings(c, data)
        if not isinstance(column, CategoricalColumn):
            return np.full(n, negated, dtype=np.bool_)
        codes = [column.code_of[s] for s in wanted if s in column.code_of]
        hit = _any_code(column, np.asarray(codes, dtype=np.int64))
        return ~hit if negated else hit
    numbers = _wanted_numbers(c, data)
    if not isinstance(column, NumericColumn) or not numbers:
        return np.full(n, negated, dtype=np.bool_)
    v = column.values
    if c.op.is_list:
        hit = np.isin(v, np.asarray(numbers, dtype=np.float64))
    else:
        x = numbers[0]
        hit = {
            Op.EQ: v == x,
            Op.NE: v == x,
            Op.LT: v < x,
            Op.LE: v <= x,
            Op.GT: v > x,
            Op.GE: v >= x,
        }[c.op]
    return ~hit if negated else hit


def _any_code(column: CategoricalColumn, codes: npt.NDArray[np.int64]) -> BoolArray:
    """Rows having at least one of ``codes``: bool (n_rows,)."""
    if codes.size == 0:
        return np.zeros(column.n_rows, dtype=np.bool_)
    hits = np.isin(column.codes, codes)
    cumulative = np.concatenate(([0], np.cumsum(hits, dtype=np.int64)))
    counts: npt.NDArray[np.int64] = cumulative[column.indptr[1:]] - cumulative[column.indptr[:-1]]
    return counts > 0


def _wanted_strings(c: BoundCondition, data: FilterData) -> frozenset[str]:
    if c.current_item is None:
        return c.strings
    value = (data.current_item or {}).get(c.current_item)
    return frozenset(value) if isinstance(value, tuple) else frozenset()


def _wanted_numbers(c: BoundCondition, data: FilterData) -> tuple[float, ...]:
    if c.current_item is None:
        return c.numbers
    value = (data.current_item or {}).get(c.current_item)
    if isinstance(value, float | int) and value == value:
        return (float(value),)
    return ()


def _user_condition(c: BoundCondition, data: FilterData) -> bool:
    """An IF CurrentUser condition; false when there is no current user."""
    if data.current_user is None:
        return False
    value: RowValue = data.current_user.get(c.field.column)
    negated = c.op in (Op.NOT_IN, Op.NE)
    if c.kind == "string":
        hit = isinstance(value, tuple) and any(s in c.strings for s in value)
        return hit != negated
    if not isinstance(value, float | int) or value != value:
        return negated
    x = float(value)
    if c.op.is_list:
        hit = x in c.numbers
    else:
        y = c.numbers[0]
        hit = {
            Op.EQ: x == y,
            Op.NE: x == y,
            Op.LT: x < y,
            Op.LE: x <= y,
            Op.GT: x > y,
            Op.GE: x >= y,
        }[c.op]
    return hit != negated
