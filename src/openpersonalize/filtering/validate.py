"""Check a parsed filter against the dataset group's schemas (done once, at CreateFilter).

The result, :class:`ValidatedFilter`, carries the expression with column names spelled as in the
schemas (columns are matched case-insensitively) and the type of every column it touches, which
is all that :mod:`.compiler` needs: once a filter is validated, evaluating it cannot fail except
for the request's own inputs (``filterValues``), which :func:`.compiler.bind` checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering.ast import (
    Condition,
    CurrentItemRef,
    Dataset,
    Expression,
    Field,
    FilterExpression,
    Op,
    Operand,
    Placeholder,
    StringLiteral,
    Target,
    UserCondition,
    ValueList,
    Wildcard,
)

ColumnType = Literal["string", "int", "long", "float", "double", "boolean"]
NUMERIC_TYPES: frozenset[str] = frozenset({"int", "long", "float", "double"})
MAX_FIELDS_PER_FILTER = 10
MAX_FIELDS_PER_DATASET_GROUP = 20
EVENT_TYPE = "EVENT_TYPE"


@dataclass(frozen=True)
class ColumnInfo:
    type: ColumnType
    categorical: bool = False
    textual: bool = False

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


Schemas = Mapping[Dataset, Mapping[str, ColumnInfo]]
"""The datasets that exist in a dataset group, each with its columns."""

_TARGET_DATASETS: dict[Target, tuple[Dataset, ...]] = {
    Target.ITEM_ID: (Dataset.ITEMS, Dataset.INTERACTIONS),
    Target.ACTION_ID: (Dataset.ACTIONS, Dataset.ACTION_INTERACTIONS),
    Target.USER_ID: (Dataset.USERS, Dataset.INTERACTIONS),
}
_TARGET_ATTRIBUTES = {
    Target.ITEM_ID: Dataset.ITEMS,
    Target.ACTION_ID: Dataset.ACTIONS,
    Target.USER_ID: Dataset.USERS,
}


@dataclass(frozen=True)
class ValidatedFilter:
    """A filter that passed :func:`validate`.

    ``columns`` gives the schema of every field used, including ``CurrentItem.X`` (as Items.X)
    and ``CurrentUser.X`` (as Users.X). Event-type columns of interactions datasets are listed
    too, with type string.
    """

    expression: FilterExpression
    columns: Mapping[Field, ColumnInfo]
    parameters: frozenset[str]
    uses_current_item: bool
    uses_current_user: bool

    @property
    def fields(self) -> frozenset[Field]:
        return frozenset(self.columns)


def _error(detail: str, position: int = 0) -> InvalidInputException:
    where = f" (at position {position})" if position else ""
    return InvalidInputException(f"Could not create filter. Invalid Expression{where}: {detail}")


def validate(
    expression: FilterExpression,
    schemas: Schemas,
    *,
    related_items: bool | None = None,
    max_fields: int = MAX_FIELDS_PER_FILTER,
) -> ValidatedFilter:
    """Check ``expression`` against ``schemas``; raise InvalidInputException on the first problem.

    ``related_items``: ``False`` rejects ``CurrentItem`` (the filter is used with a recipe that
    has no request item); ``None`` (CreateFilter, recipe not known yet) allows it.
    """
    return _Validator(schemas, related_items).run(expression, max_fields)


class _Validator:
    def __init__(self, schemas: Schemas, related_items: bool | None) -> None:
        self.schemas = schemas
        self.related_items = related_items
        self.columns: dict[Field, ColumnInfo] = {}
        self.parameters: set[str] = set()
        self.uses_current_item = False
        self.uses_current_user = False

    def run(self, expression: FilterExpression, max_fields: int) -> ValidatedFilter:
        target = expression.expressions[0].target
        for e in expression.expressions[1:]:
            if e.target is not target:
                raise _error(
                    f"all expressions of a filter must filter the same kind of result; "
                    f"{e.target.value} after {target.value}.",
                    e.position,
                )
        checked = FilterExpression(tuple(self.expression(e) for e in expression.expressions))
        if len(self.columns) > max_fields:
            names = ", ".join(sorted(f"{f.dataset.value}.{f.column}" for f in self.columns))
            raise _error(
                f"a filter can use at most {max_fields} distinct dataset fields; "
                f"this one uses {len(self.columns)}: {names}."
            )
        return ValidatedFilter(
            checked,
            dict(self.columns),
            frozenset(self.parameters),
            self.uses_current_item,
            self.uses_current_user,
        )

    def resolve(self, dataset: Dataset, column: str, position: int) -> tuple[str, ColumnInfo]:
        """The schema spelling and type of ``dataset.column``, matched case-insensitively."""
        schema = self.schemas.get(dataset)
        if schema is None:
            raise _error(
                f"the dataset group has no {dataset.value} dataset ({dataset.value}.{column}).",
                position,
            )
        if column in schema:
            info = schema[column]
            name = column
        else:
            matches = [c for c in schema if c.upper() == column.upper()]
            if len(matches) != 1:
                raise _error(
                    f"{dataset.value}.{column} is not a column of the {dataset.value} schema.",
                    position,
                )
            name = matches[0]
            info = schema[name]
        if info.type == "boolean":
            raise _error(
                f"{dataset.value}.{name} is a boolean field; boolean fields cannot be used in "
                'filters (store "True"/"False" strings or 0/1 numbers instead).',
                position,
            )
        if info.textual:
            raise _error(
                f"{dataset.value}.{name} is a textual field; textual fields cannot be filtered.",
                position,
            )
        self.columns[Field(dataset, name)] = info
        return name, info

    def expression(self, e: Expression) -> Expression:
        first = e.conditions[0].field.dataset
        where = tuple(tuple(self.condition(e, first, c) for c in group) for group in e.where)
        if e.if_conditions:
            if e.target is Target.USER_ID:
                raise _error(
                    "IF CurrentUser cannot be used with UserID filters (there is no current "
                    "user when recommending users).",
                    e.if_conditions[0].position,
                )
            self.uses_current_user = True
        ifs = tuple(self.user_condition(c) for c in e.if_conditions)
        return replace(e, where=where, if_conditions=ifs)

    def condition(self, e: Expression, first: Dataset, c: Condition) -> Condition:
        ds = c.field.dataset
        if ds not in _TARGET_DATASETS[e.target]:
            names = " or ".join(d.value for d in _TARGET_DATASETS[e.target])
            raise _error(
                f"{e.target.value} filters can use only {names} fields, not "
                f"{ds.value}.{c.field.column}"
                + (
                    " (use IF CurrentUser.COLUMN for the user's attributes)."
                    if ds is Dataset.USERS
                    else "."
                ),
                c.position,
            )
        if ds is not first:
            raise _error(
                f"all conditions of an expression must use the dataset of its first condition "
                f"({first.value}); {ds.value}.{c.field.column} does not. Chain a second "
                "expression with '|' instead.",
                c.position,
            )
        name, info = self.resolve(ds, c.field.column, c.position)
        label = f"{ds.value}.{name}"
        if ds.is_interactions and name.upper() != EVENT_TYPE:
            raise _error(f"only {ds.value}.EVENT_TYPE can be filtered, not {label}.", c.position)
        event = ds.is_interactions
        self.operand(label, info, c.op, c.operand, c.position, event=event)
        if isinstance(c.operand, CurrentItemRef):
            if e.target is not Target.ITEM_ID or ds is not Dataset.ITEMS:
                raise _error(
                    "CurrentItem can only be compared with Items fields in ItemID filters.",
                    c.operand.position,
                )
            if self.related_items is False:
                raise _error(
                    "CurrentItem can only be used with related-items recipes.", c.operand.position
                )
            self.uses_current_item = True
            item_name, item_info = self.resolve(Dataset.ITEMS, c.operand.column, c.operand.position)
            if item_info.numeric != info.numeric:
                raise _error(
                    f"{label} and CurrentItem.{item_name} have incompatible types.",
                    c.operand.position,
                )
            operand: Operand = CurrentItemRef(item_name, c.operand.position)
        else:
            operand = c.operand
        return Condition(Field(ds, name), c.op, operand, c.position)

    def user_condition(self, c: UserCondition) -> UserCondition:
        if Dataset.USERS not in self.schemas:
            raise _error("IF CurrentUser needs a Users dataset in the dataset group.", c.position)
        name, info = self.resolve(Dataset.USERS, c.column, c.position)
        if isinstance(c.operand, CurrentItemRef):
            raise _error("CurrentItem cannot be used in an IF clause.", c.operand.position)
        self.operand(f"CurrentUser.{name}", info, c.op, c.operand, c.position, event=False)
        return replace(c, column=name)

    def operand(
        self, label: str, info: ColumnInfo, op: Op, operand: Operand, position: int, *, event: bool
    ) -> None:
        if op.is_range and not info.numeric:
            raise _error(
                f"{op.value} needs a numeric field; {label} is of type {info.type}.", position
            )
        if isinstance(operand, Placeholder):
            if op in (Op.NOT_IN, Op.NE):
                raise InvalidInputException(
                    f"Could not create filter. Invalid input symbol: ${operand.name} at position "
                    f"{operand.position}. Placeholders can only be used with IN or EQ operator "
                    "(or a range comparison); use the opposite action (INCLUDE / EXCLUDE) with IN "
                    f"instead of {op.value}."
                )
            self.parameters.add(operand.name)
            return
        if isinstance(operand, CurrentItemRef):
            return
        values = operand.values if isinstance(operand, ValueList) else (operand,)
        for v in values:
            if isinstance(v, Wildcard):
                if not event:
                    raise _error(
                        f"* (any event type) can only be used with EVENT_TYPE, not {label}.",
                        position,
                    )
            elif info.numeric and isinstance(v, StringLiteral) and not _is_number(v.value):
                raise _error(f'"{v.value}" is not a number but {label} is numeric.', position)
            elif op.is_range and isinstance(v, StringLiteral):
                raise _error(f"{op.value} compares numbers; use a number literal.", position)


def _is_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return value == value and value not in (float("inf"), float("-inf"))


def describe_fields(expression: FilterExpression | ValidatedFilter) -> frozenset[Field]:
    """The distinct dataset fields a filter uses (``CurrentItem.X`` counts as Items.X and
    ``CurrentUser.X`` as Users.X), for the per-dataset-group limit of distinct fields.

    Pass the :class:`ValidatedFilter` to get schema spellings; for a bare parsed expression the
    column names are upper-cased so that ``event_type`` and ``EVENT_TYPE`` count once.
    """
    if isinstance(expression, ValidatedFilter):
        return expression.fields
    out: set[Field] = set()
    for e in expression.expressions:
        for c in e.conditions:
            out.add(Field(c.field.dataset, c.field.column.upper()))
            if isinstance(c.operand, CurrentItemRef):
                out.add(Field(Dataset.ITEMS, c.operand.column.upper()))
        for u in e.if_conditions:
            out.add(Field(Dataset.USERS, u.column.upper()))
    return frozenset(out)


def required_parameters(expression: FilterExpression | ValidatedFilter) -> frozenset[str]:
    """Placeholder names (without ``$``) used anywhere in the filter."""
    if isinstance(expression, ValidatedFilter):
        return expression.parameters
    names: set[str] = set()
    for e in expression.expressions:
        operands = [c.operand for c in e.conditions] + [u.operand for u in e.if_conditions]
        names.update(o.name for o in operands if isinstance(o, Placeholder))
    return frozenset(names)


def check_dataset_group_fields(
    filters: list[ValidatedFilter], limit: int = MAX_FIELDS_PER_DATASET_GROUP
) -> None:
    """Raise when the filters of one dataset group use more than ``limit`` distinct fields."""
    fields: set[Field] = set()
    for f in filters:
        fields |= f.fields
    if len(fields) > limit:
        raise InvalidInputException(
            f"Could not create filter. The filters of a dataset group can use at most {limit} "
            f"distinct dataset fields; they would use {len(fields)}."
        )


def columns_from_avro(schema: str | Mapping[str, Any]) -> dict[str, ColumnInfo]:
    """Column types of an Avro record schema as CreateSchema receives it.

    Union types such as ``["null", "string"]`` take their non-null member.
    """
    doc = json.loads(schema) if isinstance(schema, str) else schema
    out: dict[str, ColumnInfo] = {}
    for f in doc.get("fields", []):
        t = f.get("type")
        if isinstance(t, list):
            t = next((m for m in t if m != "null"), "null")
        if isinstance(t, dict):
            t = t.get("type")
        if t not in ("string", "int", "long", "float", "double", "boolean"):
            continue
        out[str(f["name"])] = ColumnInfo(
            type=t, categorical=bool(f.get("categorical")), textual=bool(f.get("textual"))
        )
    return out


def dataset_from_type(dataset_type: str) -> Dataset:
    """The :class:`Dataset` of a CreateDataset ``datasetType`` (case-insensitive)."""
    key = dataset_type.replace("_", "").upper()
    for d in Dataset:
        if d.value.replace("_", "").upper() == key:
            return d
    raise InvalidInputException(f"Unknown dataset type {dataset_type}.")
