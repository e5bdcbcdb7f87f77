from __future__ import annotations

import pytest

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering import (
    ColumnInfo,
    Dataset,
    Field,
    Schemas,
    check_dataset_group_fields,
    columns_from_avro,
    dataset_from_type,
    describe_fields,
    parse,
    required_parameters,
    validate,
)
from openpersonalize.filtering.ast import CurrentItemRef
from tests.schemas import avro

from .test_parser import SPEC_EXAMPLES


@pytest.mark.parametrize("text", SPEC_EXAMPLES)
def test_spec_examples_validate(text: str, schemas: Schemas) -> None:
    validated = validate(parse(text), schemas)
    assert validated.fields <= {Field(d, c) for d, cols in schemas.items() for c in cols}


def test_columns_are_matched_case_insensitively_and_canonicalised(schemas: Schemas) -> None:
    v = validate(
        parse(
            'exclude itemId where interactions.event_type in ("Purchase") | '
            "INCLUDE ItemID WHERE items.price < currentItem.price IF CurrentUser.age > 1"
        ),
        schemas,
    )
    first, second = v.expression.expressions
    assert first.where[0][0].field == Field(Dataset.INTERACTIONS, "EVENT_TYPE")
    assert second.where[0][0].field == Field(Dataset.ITEMS, "PRICE")
    assert second.where[0][0].operand == CurrentItemRef("PRICE")
    assert second.if_conditions[0].column == "AGE"
    assert v.uses_current_item and v.uses_current_user
    assert v.fields == {
        Field(Dataset.INTERACTIONS, "EVENT_TYPE"),
        Field(Dataset.ITEMS, "PRICE"),
        Field(Dataset.USERS, "AGE"),
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('INCLUDE ItemID WHERE Items.NOPE IN ("a")', "Items.NOPE is not a column"),
        ('INCLUDE ItemID WHERE Items.IS_NEW IN ("true")', "boolean field"),
        ('INCLUDE ItemID WHERE Items.DESCRIPTION IN ("x")', "textual field"),
        ("INCLUDE ItemID WHERE Interactions.EVENT_VALUE IN (1)", "only Interactions.EVENT_TYPE"),
        ("INCLUDE ItemID WHERE Users.AGE > 3", "IF CurrentUser"),
        ("INCLUDE ItemID WHERE Actions.VALUE > 3", "only Items or Interactions"),
        ("INCLUDE ActionID WHERE Items.PRICE > 3", "only Actions or Action_Interactions"),
        (
            'INCLUDE ItemID WHERE Items.GENRE IN ("a") AND Interactions.EVENT_TYPE IN ("b")',
            "dataset of its first condition (Items)",
        ),
        (
            'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("b") OR Items.GENRE IN ("a")',
            "(at position 58)",
        ),
        ("INCLUDE ItemID WHERE Items.GENRE IN (*)", "* (any event type)"),
        ("INCLUDE ItemID WHERE Items.GENRE > 3", "> needs a numeric field"),
        ('INCLUDE ItemID WHERE Items.PRICE IN ("cheap")', "is not a number"),
        ("INCLUDE ItemID WHERE Items.GENRE NOT IN ($G)", "Placeholders can only be used with IN"),
        ("INCLUDE ItemID WHERE Items.PRICE != $P", "Invalid input symbol: $P at position 37"),
        ("INCLUDE UserID WHERE Users.AGE > 3 IF CurrentUser.AGE > 3", "UserID filters"),
        ("INCLUDE ItemID WHERE Items.PRICE > 3 IF CurrentUser.NOPE > 3", "Users.NOPE"),
        ("INCLUDE ItemID WHERE Items.GENRE IN CurrentItem.PRICE", "incompatible types"),
        ("INCLUDE ItemID WHERE Items.GENRE IN CurrentItem.NOPE", "Items.NOPE"),
        (
            "INCLUDE ItemID WHERE Items.PRICE > 3 IF CurrentUser.AGE = CurrentItem.PRICE",
            "CurrentItem cannot be used in an IF clause",
        ),
    ],
)
def test_schema_errors(text: str, fragment: str, schemas: Schemas) -> None:
    with pytest.raises(InvalidInputException) as info:
        validate(parse(text), schemas)
    assert info.value.message.startswith("Could not create filter.")
    assert fragment in info.value.message


def test_missing_dataset() -> None:
    only_items: Schemas = {Dataset.ITEMS: {"PRICE": ColumnInfo("float")}}
    with pytest.raises(InvalidInputException, match="no Interactions dataset"):
        validate(parse('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("a")'), only_items)
    with pytest.raises(InvalidInputException, match="needs a Users dataset"):
        validate(parse("INCLUDE ItemID WHERE Items.PRICE > 1 IF CurrentUser.AGE > 1"), only_items)


def test_current_item_rejected_when_not_related_items(schemas: Schemas) -> None:
    expr = parse("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE")
    validate(expr, schemas)
    validate(expr, schemas, related_items=True)
    with pytest.raises(InvalidInputException, match="related-items"):
        validate(expr, schemas, related_items=False)


def test_distinct_field_limit(schemas: Schemas) -> None:
    wide: Schemas = {Dataset.ITEMS: {f"C{i}": ColumnInfo("int") for i in range(12)}}
    ten = " | ".join(f"INCLUDE ItemID WHERE Items.C{i} > 1" for i in range(10))
    assert len(validate(parse(ten), wide).fields) == 10
    eleven = ten + " | INCLUDE ItemID WHERE Items.C10 > 1"
    with pytest.raises(InvalidInputException, match="at most 10 distinct dataset fields"):
        validate(parse(eleven), wide)
    # Repeating a field (in any spelling) does not count twice.
    repeated = ten + " | EXCLUDE ItemID WHERE items.c0 < 0"
    validate(parse(repeated), wide)


def test_describe_fields_and_parameters(schemas: Schemas) -> None:
    expr = parse(
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) AND Items.price < CurrentItem.PRICE "
        "IF CurrentUser.AGE > $AGE | EXCLUDE ItemID WHERE Interactions.event_type IN ($E)"
    )
    expected = {
        Field(Dataset.ITEMS, "GENRE"),
        Field(Dataset.ITEMS, "PRICE"),
        Field(Dataset.USERS, "AGE"),
        Field(Dataset.INTERACTIONS, "EVENT_TYPE"),
    }
    assert describe_fields(expr) == expected
    validated = validate(expr, schemas)
    assert describe_fields(validated) == expected
    assert required_parameters(expr) == required_parameters(validated) == {"G", "AGE", "E"}


def test_dataset_group_field_limit(schemas: Schemas) -> None:
    wide: Schemas = {Dataset.ITEMS: {f"C{i}": ColumnInfo("int") for i in range(30)}}
    filters = [
        validate(parse(" | ".join(f"INCLUDE ItemID WHERE Items.C{i} > 1" for i in r)), wide)
        for r in (range(0, 10), range(10, 20))
    ]
    check_dataset_group_fields(filters)
    filters.append(validate(parse("INCLUDE ItemID WHERE Items.C20 > 1"), wide))
    with pytest.raises(InvalidInputException, match="at most 20"):
        check_dataset_group_fields(filters)


def test_columns_from_avro() -> None:
    schema = avro(
        "Items",
        [
            ("ITEM_ID", "string"),
            ("GENRES", ["null", "string"]),
            ("PRICE", ["float", "null"]),
            ("DESC", "string"),
            ("FLAG", "boolean"),
        ],
        GENRES={"categorical": True},
        DESC={"textual": True},
    )
    cols = columns_from_avro(schema)
    assert cols["GENRES"] == ColumnInfo("string", categorical=True)
    assert cols["PRICE"] == ColumnInfo("float")
    assert cols["DESC"].textual and cols["FLAG"].type == "boolean"
    assert dataset_from_type("action_interactions") is Dataset.ACTION_INTERACTIONS
    assert dataset_from_type("ITEMS") is Dataset.ITEMS
