"""The syntax tree of a filter expression: frozen, hashable, comparable dataclasses.

Source positions are carried for error messages but excluded from equality, so that a tree
printed with :func:`to_text` and parsed again compares equal to the original.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from openpersonalize.filtering.tokens import quote_string


class Action(Enum):
    INCLUDE = "INCLUDE"
    EXCLUDE = "EXCLUDE"


class Target(Enum):
    ITEM_ID = "ItemID"
    ACTION_ID = "ActionID"
    USER_ID = "UserID"


class Dataset(Enum):
    """Dataset types, spelled as in filter expressions."""

    ITEMS = "Items"
    INTERACTIONS = "Interactions"
    USERS = "Users"
    ACTIONS = "Actions"
    ACTION_INTERACTIONS = "Action_Interactions"

    @property
    def is_interactions(self) -> bool:
        return self in (Dataset.INTERACTIONS, Dataset.ACTION_INTERACTIONS)


class Op(Enum):
    IN = "IN"
    NOT_IN = "NOT IN"
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    @property
    def is_list(self) -> bool:
        return self in (Op.IN, Op.NOT_IN)

    @property
    def is_range(self) -> bool:
        return self in (Op.LT, Op.LE, Op.GT, Op.GE)


@dataclass(frozen=True)
class StringLiteral:
    value: str


@dataclass(frozen=True)
class NumberLiteral:
    text: str  # the source text; kept so that a number compared with a string column is exact

    @property
    def value(self) -> float:
        return float(self.text)


@dataclass(frozen=True)
class Wildcard:
    """``*`` in a list: any event type."""


Literal = StringLiteral | NumberLiteral | Wildcard


@dataclass(frozen=True)
class ValueList:
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Placeholder:
    name: str  # without the "$"; case-sensitive
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class CurrentItemRef:
    """``CurrentItem.COLUMN``: the value of the request item's Items column."""

    column: str
    position: int = dataclasses.field(default=0, compare=False)


# IN / NOT IN take ValueList | Placeholder | CurrentItemRef;
# comparisons take StringLiteral | NumberLiteral | Placeholder | CurrentItemRef.
Operand = ValueList | Placeholder | CurrentItemRef | StringLiteral | NumberLiteral


@dataclass(frozen=True)
class Field:
    dataset: Dataset
    column: str


@dataclass(frozen=True)
class Condition:
    """``dataset.COLUMN op operand`` in a WHERE clause."""

    field: Field
    op: Op
    operand: Operand
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class UserCondition:
    """``CurrentUser.COLUMN op operand`` in an IF clause."""

    column: str
    op: Op
    operand: Operand
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class Expression:
    """One ``INCLUDE|EXCLUDE target WHERE ... [IF ...]`` part of a filter.

    ``where`` is in disjunctive form: OR of AND-groups (AND binds tighter than OR).
    ``if_conditions`` are ANDed; empty when there is no IF clause.
    """

    action: Action
    target: Target
    where: tuple[tuple[Condition, ...], ...]
    if_conditions: tuple[UserCondition, ...] = ()
    position: int = dataclasses.field(default=0, compare=False)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Every WHERE condition in source order."""
        return tuple(c for group in self.where for c in group)


@dataclass(frozen=True)
class FilterExpression:
    """A whole filter: expressions chained with ``|``."""

    expressions: tuple[Expression, ...]


# --- printing -----------------------------------------------------------------------------------


def to_text(expr: FilterExpression) -> str:
    """Canonical source text of ``expr``; ``parse(to_text(e)) == e``."""
    return " | ".join(_expression_text(e) for e in expr.expressions)


def _expression_text(e: Expression) -> str:
    where = " OR ".join(" AND ".join(_condition_text(c) for c in group) for group in e.where)
    text = f"{e.action.value} {e.target.value} WHERE {where}"
    if e.if_conditions:
        ifs = " AND ".join(
            f"CurrentUser.{c.column} {c.op.value} {_operand_text(c.op, c.operand)}"
            for c in e.if_conditions
        )
        text += f" IF {ifs}"
    return text


def _condition_text(c: Condition) -> str:
    return f"{c.field.dataset.value}.{c.field.column} {c.op.value} {_operand_text(c.op, c.operand)}"


def _literal_text(v: Literal) -> str:
    if isinstance(v, StringLiteral):
        return quote_string(v.value)
    if isinstance(v, NumberLiteral):
        return v.text
    return "*"


def _operand_text(op: Op, operand: Operand) -> str:
    if isinstance(operand, ValueList):
        return "(" + ", ".join(_literal_text(v) for v in operand.values) + ")"
    if isinstance(operand, Placeholder):
        return f"(${operand.name})" if op.is_list else f"${operand.name}"
    if isinstance(operand, CurrentItemRef):
        return f"CurrentItem.{operand.column}"
    return _literal_text(operand)
