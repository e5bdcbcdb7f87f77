"""Property tests: the parser never fails unexpectedly, printing round-trips, and the vectorised
masks agree with the row-by-row reference evaluator."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering import (
    CategoricalColumn,
    Dataset,
    DictIndex,
    FilterData,
    NumericColumn,
    Op,
    bind,
    compile_mask,
    format_filter_value,
    parse,
    to_text,
    validate,
)
from openpersonalize.filtering.ast import (
    Action,
    Condition,
    CurrentItemRef,
    Expression,
    Field,
    FilterExpression,
    Literal,
    NumberLiteral,
    Operand,
    Placeholder,
    StringLiteral,
    Target,
    UserCondition,
    ValueList,
    Wildcard,
)
from openpersonalize.filtering.reference import reference_mask

from .conftest import SCHEMAS
from .test_parser import SPEC_EXAMPLES

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- (1) every string parses or raises InvalidInputException ------------------------------------

FRAGMENTS = [
    "INCLUDE",
    "EXCLUDE",
    "ItemID",
    "itemId",
    "UserID",
    "ActionID",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IF",
    "Items",
    "Interactions",
    "Users",
    "Actions",
    "Action_Interactions",
    "CurrentItem",
    "CurrentUser",
    ".",
    "GENRE",
    "EVENT_TYPE",
    "(",
    ")",
    ",",
    "|",
    "*",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "$P",
    "$",
    '"a"',
    '"',
    "\\",
    "1",
    "-2.5e3",
    "1e999",
    "'x'",
    " ",
    "\n",
    "é",
    "\x00",
]


# Random text and fragment soups almost never parse; a spec example with a fragment spliced in
# often does, so both outcomes are drawn (and the explicit examples run every time).
spliced = st.builds(
    lambda text, at, fragment: text[:at] + fragment + text[at:],
    st.sampled_from(SPEC_EXAMPLES),
    st.integers(0, 200),
    st.sampled_from(["", *FRAGMENTS]),
)


@FAST
@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(" ".join),
        st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
        spliced,
    )
)
@example(SPEC_EXAMPLES[0])
@example(SPEC_EXAMPLES[5] + " ")
@example("INCLUDE ItemID WHERE")
def test_any_string_parses_or_is_invalid_input(text: str) -> None:
    try:
        expr = parse(text)
    except InvalidInputException as e:
        assert e.message
        return
    assert parse(to_text(expr)) == expr
    with contextlib.suppress(InvalidInputException):
        validate(expr, SCHEMAS)


# --- (3) round trip of arbitrary trees -------------------------------------------------------

# Cheap strategies: st.from_regex is slow, and the tokenizer's regexes are tested elsewhere.
names = st.sampled_from(["GENRE", "event_type", "_x1", "IN", "WHERE", "CurrentItem", "a"])
params = st.sampled_from(["P", "p_1", "0", "GENRE", "A" * 50])
numbers = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-"]),
    st.integers(0, 10**6).map(str),
    st.sampled_from(["", ".5", ".0001", ".25"]),
    st.sampled_from(["", "e3", "E-2", "e+10"]),
)
literals: st.SearchStrategy[Literal] = st.one_of(
    st.text(alphabet='ab"\\ |$(é', max_size=6).map(StringLiteral),
    numbers.map(NumberLiteral),
    st.just(Wildcard()),
)
list_operands: st.SearchStrategy[Operand] = st.one_of(
    st.lists(literals, min_size=1, max_size=4).map(lambda v: ValueList(tuple(v))),
    params.map(Placeholder),
    names.map(CurrentItemRef),
)
scalar_operands: st.SearchStrategy[Operand] = st.one_of(
    st.text(alphabet='ab"\\ |$(é', max_size=6).map(StringLiteral),
    numbers.map(NumberLiteral),
    params.map(Placeholder),
    names.map(CurrentItemRef),
)


@st.composite
def predicates(draw: st.DrawFn) -> tuple[Op, Operand]:
    op = draw(st.sampled_from(list(Op)))
    return op, draw(list_operands if op.is_list else scalar_operands)


@st.composite
def any_conditions(draw: st.DrawFn) -> Condition:
    op, operand = draw(predicates())
    return Condition(Field(draw(st.sampled_from(list(Dataset))), draw(names)), op, operand)


@st.composite
def any_user_conditions(draw: st.DrawFn) -> UserCondition:
    op, operand = draw(predicates())
    return UserCondition(draw(names), op, operand)


def _groups(
    conds: st.SearchStrategy[Condition],
) -> st.SearchStrategy[tuple[tuple[Condition, ...], ...]]:
    group = st.lists(conds, min_size=1, max_size=3).map(tuple)
    return st.lists(group, min_size=1, max_size=3).map(tuple)


any_trees = st.lists(
    st.builds(
        Expression,
        st.sampled_from(list(Action)),
        st.sampled_from(list(Target)),
        _groups(any_conditions()),
        st.lists(any_user_conditions(), max_size=2).map(tuple),
    ),
    min_size=1,
    max_size=3,
).map(lambda es: FilterExpression(tuple(es)))


@FAST
@given(any_trees)
def test_printed_tree_parses_back_to_itself(expr: FilterExpression) -> None:
    assert parse(to_text(expr)) == expr


# --- (2) compiled masks agree with the reference evaluator -------------------------------------

STRINGS = ["a", "b", "c", "A", "b c"]
EVENTS = ["click", "Click", "purchase", "Not Taken", "NOT_TAKEN", "view"]
NUMBERS = ["0", "1", "2.5", "3", "-1", "10"]


@dataclass(frozen=True)
class World:
    """One target kind: which datasets its conditions use and the columns each has."""

    target: Target
    attributes: Dataset
    interactions: Dataset
    strings: tuple[str, ...]
    numbers: tuple[str, ...]


WORLDS = [
    World(
        Target.ITEM_ID, Dataset.ITEMS, Dataset.INTERACTIONS, ("GENRE", "BRAND"), ("PRICE", "STOCK")
    ),
    World(
        Target.ACTION_ID, Dataset.ACTIONS, Dataset.ACTION_INTERACTIONS, ("CATEGORY",), ("VALUE",)
    ),
    World(Target.USER_ID, Dataset.USERS, Dataset.INTERACTIONS, ("MEMBERSHIP_STATUS",), ("AGE",)),
]


@st.composite
def valid_condition(draw: st.DrawFn, world: World, dataset: Dataset) -> Condition:
    if dataset is world.interactions:
        column = draw(st.sampled_from(["EVENT_TYPE", "event_type"]))
        pool, kind = EVENTS, "event"
    else:
        kind = draw(st.sampled_from(["string", "numeric"]))
        column = draw(st.sampled_from(world.strings if kind == "string" else world.numbers))
        pool = STRINGS if kind == "string" else NUMBERS
    ops = [Op.IN, Op.NOT_IN, Op.EQ, Op.NE] + (
        [Op.LT, Op.LE, Op.GT, Op.GE] if kind == "numeric" else []
    )
    op = draw(st.sampled_from(ops))
    choices = ["literal"]
    if op not in (Op.NOT_IN, Op.NE):
        choices.append("param")
    if world.target is Target.ITEM_ID and dataset is Dataset.ITEMS:
        choices.append("current_item")
    how = draw(st.sampled_from(choices))
    operand: Operand
    if how == "param":
        operand = Placeholder(
            ("E" if kind == "event" else "S" if kind == "string" else "N")
            + draw(st.sampled_from("01"))
        )
    elif how == "current_item":
        operand = CurrentItemRef(
            draw(st.sampled_from(world.strings if kind == "string" else world.numbers))
        )
    elif op.is_list:
        lits: list[Literal] = [
            StringLiteral(v) if kind != "numeric" else NumberLiteral(v)
            for v in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        ]
        if kind == "event" and draw(st.booleans()):
            lits.append(draw(st.sampled_from([Wildcard(), StringLiteral("*")])))
        operand = ValueList(tuple(lits))
    else:
        value = draw(st.sampled_from(pool))
        operand = NumberLiteral(value) if kind == "numeric" else StringLiteral(value)
    return Condition(Field(dataset, column), op, operand)


@st.composite
def valid_user_condition(draw: st.DrawFn) -> UserCondition:
    if draw(st.booleans()):
        op = draw(st.sampled_from([Op.IN, Op.NOT_IN, Op.EQ, Op.NE]))
        operand: Operand = (
            Placeholder("S0")
            if op in (Op.IN, Op.EQ) and draw(st.booleans())
            else ValueList(
                tuple(
                    StringLiteral(v)
                    for v in draw(st.lists(st.sampled_from(STRINGS), min_size=1, max_size=2))
                )
            )
            if op.is_list
            else StringLiteral(draw(st.sampled_from(STRINGS)))
        )
        return UserCondition("MEMBERSHIP_STATUS", op, operand)
    op = draw(st.sampled_from([Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN]))
    if op is Op.IN:
        return UserCondition("AGE", op, ValueList((NumberLiteral(draw(st.sampled_from(NUMBERS))),)))
    if op is not Op.NE and draw(st.booleans()):
        return UserCondition("AGE", op, Placeholder("N0"))
    return UserCondition("AGE", op, NumberLiteral(draw(st.sampled_from(NUMBERS))))


@st.composite
def valid_filters(draw: st.DrawFn) -> tuple[World, FilterExpression]:
    world = draw(st.sampled_from(WORLDS))
    expressions = []
    for _ in range(draw(st.integers(1, 3))):
        dataset = draw(st.sampled_from([world.attributes, world.interactions]))
        groups = draw(
            st.lists(
                st.lists(valid_condition(world, dataset), min_size=1, max_size=2).map(tuple),
                min_size=1,
                max_size=2,
            )
        )
        ifs: list[UserCondition] = []
        if world.target is not Target.USER_ID:
            ifs = draw(st.lists(valid_user_condition(), max_size=2))
        expressions.append(
            Expression(draw(st.sampled_from(list(Action))), world.target, tuple(groups), tuple(ifs))
        )
    return world, FilterExpression(tuple(expressions))


def _strings_rows(draw: st.DrawFn, n: int, multi: bool) -> CategoricalColumn:
    if multi:
        rows = [draw(st.lists(st.sampled_from(STRINGS), max_size=3)) for _ in range(n)]
        return CategoricalColumn.from_rows(rows)
    return CategoricalColumn.from_rows(
        [draw(st.sampled_from([*STRINGS, None])) for _ in range(n)], separator=None
    )


@st.composite
def filter_data(draw: st.DrawFn, world: World) -> FilterData:
    n = draw(st.integers(0, 10))
    ids = [f"x{i}" for i in range(n)]
    attributes: dict[str, CategoricalColumn | NumericColumn] = {}
    number_values = st.sampled_from([*[float(v) for v in NUMBERS], None])
    for column in world.strings:
        if draw(st.integers(0, 5)):
            attributes[column] = _strings_rows(draw, n, multi=column != "BRAND")
    for column in world.numbers:
        if draw(st.integers(0, 5)):
            attributes[column] = NumericColumn.from_rows([draw(number_values) for _ in range(n)])
    events = draw(
        st.lists(
            st.tuples(st.sampled_from(EVENTS), st.sampled_from([*ids, "unknown"])), max_size=12
        )
    )
    current_user = None
    if draw(st.booleans()):
        current_user = {
            "AGE": draw(number_values),
            "MEMBERSHIP_STATUS": tuple(draw(st.lists(st.sampled_from(STRINGS), max_size=2))),
        }
    current_item = None
    if draw(st.booleans()):
        current_item = {
            **{
                c: tuple(draw(st.lists(st.sampled_from(STRINGS), max_size=2)))
                for c in world.strings
            },
            **{c: draw(number_values) for c in world.numbers},
        }
    event_types = CategoricalColumn.from_rows(
        [draw(st.lists(st.sampled_from(EVENTS), max_size=3)) for _ in range(n)]
    )
    return FilterData(
        n_candidates=n,
        attributes=attributes,
        candidate_index=DictIndex.of(ids),
        events=events,
        history_depth=draw(st.integers(0, 4)),
        candidate_event_types=event_types if draw(st.integers(0, 4)) else None,
        current_user=current_user,
        current_item=current_item,
    )


@st.composite
def values_for(draw: st.DrawFn) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, pool in (("S0", STRINGS), ("S1", STRINGS), ("E0", EVENTS), ("E1", [*EVENTS, "*"])):
        if draw(st.integers(0, 4)):
            out[name] = format_filter_value(
                draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
            )
    for name in ("N0", "N1"):
        if draw(st.integers(0, 4)):
            out[name] = ", ".join(
                draw(
                    st.lists(
                        st.sampled_from(NUMBERS),
                        min_size=1,
                        max_size=1 + (draw(st.integers(0, 9)) == 0),
                    )
                )
            )
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_mask_agrees_with_reference(data: st.DataObject) -> None:
    world, expr = data.draw(valid_filters())
    text = to_text(expr)
    assert parse(text) == expr
    validated = validate(parse(text), SCHEMAS)
    fdata = data.draw(filter_data(world))
    try:
        bound = bind(validated, data.draw(values_for()))
    except InvalidInputException:
        return
    mask = compile_mask(bound, fdata)
    assert mask.dtype == np.bool_
    assert mask.shape == (fdata.n_candidates,)
    np.testing.assert_array_equal(mask, reference_mask(bound, fdata), err_msg=text)
