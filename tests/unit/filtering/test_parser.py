from __future__ import annotations

import pytest

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering import Action, Dataset, Op, Target, parse, to_text
from openpersonalize.filtering.ast import (
    CurrentItemRef,
    NumberLiteral,
    Placeholder,
    StringLiteral,
    ValueList,
    Wildcard,
)

# Every example of spec §5.1 (the "click, rating" typo of the docs corrected).
SPEC_EXAMPLES = [
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
    "INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)",
    'EXCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("shoe") AND Items.CATEGORY_L2 NOT IN ("boot")',
    "INCLUDE ItemID WHERE Items.PRICE <= $PRICE",
    "INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP < $DATE",
    "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE",
    "EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE",
    'INCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("watch") AND Items.CATEGORY_L2 IN ("luxury") '
    "IF CurrentUser.AGE > 18",
    "INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)",
    "EXCLUDE UserID WHERE Users.AGE < $AGE",
    'INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click", "rating")',
    'INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click, rating")',
    "INCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ($EVENT_TYPE)",
    'EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("NOT_TAKEN")',
    "EXCLUDE ActionID WHERE Actions.CATEGORY IN ($CATEGORY)",
    "INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)",
    "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) | "
    'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("favorite")',
    "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | "
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
]


@pytest.mark.parametrize("text", SPEC_EXAMPLES)
def test_spec_examples_parse_and_round_trip(text: str) -> None:
    expr = parse(text)
    assert parse(to_text(expr)) == expr


def test_tree_shape() -> None:
    expr = parse(
        'include itemId where items.GENRE in ("a", 1.5, *) or Items.PRICE >= ($P) and '
        'Items.X = CurrentItem.Y if currentUser.AGE > 18 and CurrentUser.S = "gold"'
    )
    (e,) = expr.expressions
    assert e.action is Action.INCLUDE and e.target is Target.ITEM_ID
    assert len(e.where) == 2 and [len(g) for g in e.where] == [1, 2]
    first = e.where[0][0]
    assert first.field.dataset is Dataset.ITEMS and first.field.column == "GENRE"
    assert first.operand == ValueList((StringLiteral("a"), NumberLiteral("1.5"), Wildcard()))
    assert e.where[1][0].op is Op.GE and e.where[1][0].operand == Placeholder("P")
    assert e.where[1][1].operand == CurrentItemRef("Y")
    assert [u.column for u in e.if_conditions] == ["AGE", "S"]
    assert e.if_conditions[1].operand == StringLiteral("gold")


@pytest.mark.parametrize(
    "text",
    [
        'exclude itemid where interactions.event_type in ("click")',
        'EXCLUDE ITEM_ID WHERE INTERACTIONS.event_type IN ("click")',
        'Exclude ItemId Where Interactions.Event_Type In ("click")',
    ],
)
def test_keywords_and_dataset_names_are_case_insensitive(text: str) -> None:
    (e,) = parse(text).expressions
    assert e.action is Action.EXCLUDE and e.target is Target.ITEM_ID
    assert e.where[0][0].field.dataset is Dataset.INTERACTIONS


def test_action_interactions_spellings() -> None:
    for name in ("Action_Interactions", "ACTIONINTERACTIONS", "action_interactions"):
        (e,) = parse(f'EXCLUDE ActionID WHERE {name}.EVENT_TYPE IN ("x")').expressions
        assert e.where[0][0].field.dataset is Dataset.ACTION_INTERACTIONS


def test_string_escapes_round_trip() -> None:
    expr = parse(r'INCLUDE ItemID WHERE Items.BRAND IN ("a\"b", "c\\d", "é | x")')
    values = expr.expressions[0].where[0][0].operand
    assert values == ValueList(
        (StringLiteral('a"b'), StringLiteral("c\\d"), StringLiteral("é | x"))
    )
    assert parse(to_text(expr)) == expr


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("SELECT * FROM Items", "Invalid input symbol: SELECT at position 1"),
        ("INCLUDE Items WHERE Items.X IN (1)", "Expected ItemID, ActionID or UserID"),
        ("INCLUDE ItemID Items.X IN (1)", "Expected WHERE"),
        ("INCLUDE ItemID WHERE Foo.X IN (1)", "Expected a dataset field"),
        ("INCLUDE ItemID WHERE Items IN (1)", "Expected '.'"),
        ("INCLUDE ItemID WHERE Items.X LIKE (1)", "Expected IN, NOT IN"),
        ("INCLUDE ItemID WHERE Items.X NOT (1)", "NOT must be followed by IN"),
        ("INCLUDE ItemID WHERE Items.X IN ()", "Expected a double-quoted string"),
        ("INCLUDE ItemID WHERE Items.X IN ('a')", "double quotes"),
        ('INCLUDE ItemID WHERE Items.X IN ("a"', "Expected ',' or ')'"),
        ('INCLUDE ItemID WHERE Items.X IN ("a)', "Unterminated string"),
        ("INCLUDE ItemID WHERE Items.X IN ($A, $B)", "only element"),
        ('INCLUDE ItemID WHERE Items.X IN ("a", $B)', "only element"),
        ("INCLUDE ItemID WHERE Items.X IN $A", "Expected '('"),
        ("INCLUDE ItemID WHERE Items.X = (1)", "Only a placeholder"),
        ("INCLUDE ItemID WHERE Items.X = $", "placeholder needs a name"),
        ("INCLUDE ItemID WHERE Items.X = 1e999", "out of range"),
        ("INCLUDE ItemID WHERE Items.X = 1abc", "Invalid input symbol: 1abc"),
        ("INCLUDE ItemID WHERE Items.X IN (1) IF Items.Y IN (1)", "only CurrentUser"),
        ("INCLUDE ItemID WHERE Items.X IN (1) IF CurrentUser.A = 1 OR CurrentUser.B = 1", "AND"),
        (
            "INCLUDE ItemID WHERE Items.X IN (1) IF CurrentUser.A = 1 IF CurrentUser.B = 1",
            "IF can be used only once",
        ),
        ("INCLUDE ItemID WHERE CurrentUser.AGE > 1", "only be used in an IF clause"),
        ("INCLUDE ItemID WHERE CurrentItem.AGE > 1", "right of an operator"),
        ("INCLUDE ItemID WHERE Items.X IN (1) |", "starts with INCLUDE or EXCLUDE"),
        ("INCLUDE ItemID WHERE Items.X IN (1) Items.Y IN (2)", "Expected AND, OR, IF"),
        ("INCLUDE ItemID WHERE Items.X IN (1) # comment", "Invalid input symbol: #"),
        ("INCLUDE ItemID WHERE Items.X = $" + "P" * 51, "at most 50"),
        ("INCLUDE ItemID WHERE Items.X IN (1)" + " " * 2500, "maximum is 2500"),
    ],
)
def test_syntax_errors_point_at_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputException) as info:
        parse(text)
    assert fragment in info.value.message
    assert info.value.code == "InvalidInputException"


def test_error_position_is_the_offending_token() -> None:
    with pytest.raises(InvalidInputException, match=r"Invalid input symbol: LIKE at position 30\."):
        parse("INCLUDE ItemID WHERE Items.X LIKE (1)")


def test_newlines_are_whitespace() -> None:
    text = 'INCLUDE ItemID\n  WHERE Items.GENRE IN ("a")\n| EXCLUDE ItemID\tWHERE Items.PRICE > 3'
    assert len(parse(text).expressions) == 2
