"""Personalize Avro schemas: parsing and the CreateSchema / CreateDataset / UpdateDataset rules."""

from __future__ import annotations

import json
import re
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openpersonalize.data.domain_schemas import DEFAULT_DOMAIN_SCHEMAS, default_domain_schema
from openpersonalize.data.schemas import (
    MAX_SCHEMA_CHARS,
    SchemaField,
    check_dataset_schema,
    check_schema_update,
    normalize_dataset_type,
    parse_schema,
)
from openpersonalize.errors import InvalidInputException
from tests.schemas import field, schema_text

from ._schemas import interactions, schema


def rejects(text: str, *fragments: str) -> None:
    with pytest.raises(InvalidInputException) as info:
        parse_schema(text)
    for fragment in fragments:
        assert fragment in info.value.message, info.value.message


def rejects_dataset(
    fields: list[dict[str, Any]], kind: str, domain: str | None, *fragments: str
) -> None:
    parsed = schema(kind.replace("_", ""), fields)
    with pytest.raises(InvalidInputException) as info:
        check_dataset_schema(parsed, kind, domain)
    for fragment in fragments:
        assert fragment in info.value.message, info.value.message


ONE_FIELD = '{"name": "A", "type": "int"}'


# --- parse_schema --------------------------------------------------------------------------------


def test_parses_a_typical_interactions_schema() -> None:
    parsed = schema(
        "Interactions",
        interactions(field("EVENT_TYPE"), field("EVENT_VALUE", ["null", "float"])),
    )
    assert parsed.name == "Interactions"
    assert parsed.namespace == "com.amazonaws.personalize.schema"
    assert parsed.version == "1.0"
    assert parsed.field_names == ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE")
    assert parsed.field("EVENT_VALUE") == SchemaField("EVENT_VALUE", "float", nullable=True)
    assert "TIMESTAMP" in parsed and "NOPE" not in parsed
    with pytest.raises(KeyError):
        parsed.field("NOPE")


@pytest.mark.parametrize(
    ("type_", "expected", "nullable"),
    [
        ("string", "string", False),
        ("long", "long", False),
        ("int", "int", False),
        ("float", "float", False),
        ("double", "double", False),
        ("boolean", "boolean", False),
        (["string"], "string", False),
        (["null", "string"], "string", True),
        (["string", "null"], "string", True),
        (["null", "float"], "float", True),
        ({"type": "long"}, "long", False),
        (["null", {"type": "int"}], "int", True),
    ],
)
def test_field_types_clients_write(type_: Any, expected: str, nullable: bool) -> None:
    parsed = schema("Items", [field("ITEM_ID"), field("X", type_)])
    assert parsed.field("X").type == expected
    assert parsed.field("X").nullable is nullable


@pytest.mark.parametrize(("version", "expected"), [("1.0", "1.0"), (1, "1"), (1.0, "1.0")])
def test_version_may_be_string_number_or_absent(version: Any, expected: str) -> None:
    assert schema("Items", [field("ITEM_ID")], version=version).version == expected
    doc = json.loads(schema_text("Items", [field("ITEM_ID")]))
    del doc["version"]
    assert parse_schema(json.dumps(doc)).version is None


@pytest.mark.parametrize(
    ("type_", "fragment"),
    [
        ({"type": "array", "items": "string"}, "flat"),
        ({"type": "map", "values": "string"}, "flat"),
        ({"type": "record", "name": "R", "fields": []}, "flat"),
        (["null", {"type": "array", "items": "string"}], "flat"),
        ("array", "flat"),
        ("bytes", "unsupported type"),
        ("timestamp", "unsupported type"),
        ("null", "exactly one non-null type"),
        (["null"], "exactly one non-null type"),
        (["int", "string"], "exactly one non-null type"),
        (["null", "string", "long"], "exactly one non-null type"),
        (["null", "null", "string"], "repeats a type"),
        ([], "empty union"),
        (None, "unsupported type"),
        (3, "unsupported type"),
    ],
)
def test_rejects_unsupported_types(type_: Any, fragment: str) -> None:
    rejects(schema_text("Items", [field("ITEM_ID"), field("BAD", type_)]), "Field BAD", fragment)


@pytest.mark.parametrize(
    ("attributes", "fragment"),
    [
        ({"type": "long", "categorical": True}, '"categorical" is only allowed on string'),
        ({"type": "float", "textual": True}, '"textual" is only allowed on string'),
        ({"type": "int", "itemName": True}, '"itemName" is only allowed on string'),
        ({"categorical": "true"}, '"categorical" must be true or false'),
        ({"textual": 1}, '"textual" must be true or false'),
        ({"categorical": True, "textual": True}, "both categorical and textual"),
    ],
)
def test_rejects_bad_attributes(attributes: dict[str, Any], fragment: str) -> None:
    fields = [field("ITEM_ID"), {"name": "BAD", "type": "string", **attributes}]
    rejects(schema_text("Items", fields), "Field BAD", fragment)


def test_attributes_are_kept() -> None:
    parsed = schema(
        "Items",
        [
            field("ITEM_ID"),
            field("GENRES", ["null", "string"], categorical=True),
            field("DESCRIPTION", "string", textual=True),
            field("TITLE", "string", itemName=True),
        ],
    )
    assert parsed.field("GENRES").categorical and parsed.field("GENRES").nullable
    assert parsed.field("DESCRIPTION").textual
    assert parsed.field("TITLE").item_name


@pytest.mark.parametrize(
    ("first", "second"),
    [("GENRES_FIELD_1", "GENRESFIELD1"), ("GENRE", "genre"), ("A_B", "AB"), ("X", "X")],
)
def test_field_names_must_be_unique_after_removing_non_alphanumerics(
    first: str, second: str
) -> None:
    rejects(
        schema_text("Items", [field("ITEM_ID"), field(first, "int"), field(second, "int")]),
        f"Fields {first} and {second}",
        "unique after removing non-alphanumeric",
    )


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "", "É"])
def test_field_names_must_be_avro_names(name: str) -> None:
    rejects(schema_text("Items", [field("ITEM_ID"), field(name, "int")]), "field #2", "name must")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "enum", "name": "X", "fields": []}', '"type" must be "record"'),
        ('{"type": "record", "fields": [{"name": "A", "type": "int"}]}', '"name" must be'),
        ('{"type": "record", "name": "X", "fields": []}', '"fields" must be a non-empty list'),
        ('{"type": "record", "name": "X", "fields": {}}', '"fields" must be a non-empty list'),
        ('{"type": "record", "name": "X", "fields": ["A"]}', "field #1 must be a JSON object"),
        (
            '{"type": "record", "name": "X", "namespace": "a..b", "fields": [' + ONE_FIELD + "]}",
            '"namespace"',
        ),
        (
            '{"type": "record", "name": "X", "version": true, "fields": [' + ONE_FIELD + "]}",
            '"version"',
        ),
    ],
)
def test_rejects_malformed_documents(text: str, fragment: str) -> None:
    rejects(text, fragment)


def test_schema_text_is_limited_to_20000_characters() -> None:
    base = schema_text("Items", [field("ITEM_ID")], doc="")
    padded = base.replace('"doc": ""', '"doc": "' + "x" * (MAX_SCHEMA_CHARS - len(base)) + '"')
    assert len(padded) == MAX_SCHEMA_CHARS
    parse_schema(padded)
    rejects(padded.replace('"doc": "', '"doc": "x'), "20,001 characters", "maximum is 20,000")


def test_to_arrow_schema_types_nullability_and_attributes() -> None:
    parsed = schema(
        "Items",
        [
            field("ITEM_ID"),
            field("N", "int"),
            field("L", ["null", "long"]),
            field("F", "float"),
            field("D", "double"),
            field("B", "boolean"),
            field("C", "string", categorical=True),
            field("T", ["null", "string"], textual=True),
        ],
    )
    arrow = parsed.to_arrow_schema()
    assert arrow.names == list(parsed.field_names)
    assert [f.type for f in arrow] == [
        pa.string(),
        pa.int32(),
        pa.int64(),
        pa.float64(),
        pa.float64(),
        pa.bool_(),
        pa.string(),
        pa.string(),
    ]
    assert not arrow.field("ITEM_ID").nullable and arrow.field("L").nullable
    assert arrow.field("C").metadata == {b"categorical": b"true"}
    assert arrow.field("T").metadata == {b"textual": b"true"}
    assert arrow.field("N").metadata is None


# --- check_dataset_schema: custom dataset groups -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("Interactions", interactions()),
        (
            "Interactions",
            interactions(
                field("EVENT_TYPE"),
                field("EVENT_VALUE", ["null", "float"]),
                field("IMPRESSION", ["null", "string"]),
                field("RECOMMENDATION_ID", ["null", "string"]),
                field("EVENT_ATTRIBUTION_SOURCE", ["null", "string"]),
                *[field(f"M{i}", "int") for i in range(5)],
            ),
        ),
        ("Items", [field("ITEM_ID"), field("CREATION_TIMESTAMP", "long")]),
        ("Items", [field("ITEM_ID"), *[field(f"M{i}", "float") for i in range(100)]]),
        ("Users", [field("USER_ID"), *[field(f"M{i}", "int") for i in range(25)]]),
        (
            "Actions",
            [
                field("ACTION_ID"),
                field("VALUE", ["null", "long"]),
                field("TYPE", ["null", "string"]),
                field("EXPIRATION_TIMESTAMP", ["null", "long"]),
                field("REPEAT_FREQUENCY", ["null", "int"]),
                field("CREATION_TIMESTAMP", "long"),
            ],
        ),
        (
            "Action_Interactions",
            [
                field("USER_ID"),
                field("ACTION_ID"),
                field("EVENT_TYPE"),
                field("TIMESTAMP", "long"),
                field("IMPRESSION", ["null", "string"]),
            ],
        ),
    ],
)
def test_accepts_valid_custom_schemas(kind: str, fields: list[dict[str, Any]]) -> None:
    check_dataset_schema(schema(kind.replace("_", ""), fields), kind, None)


@pytest.mark.parametrize(
    ("kind", "fields", "fragments"),
    [
        ("Interactions", interactions()[1:], ("missing required field(s) USER_ID",)),
        (
            "Interactions",
            [field("USER_ID"), field("ITEM_ID")],
            ("missing required field(s) TIMESTAMP",),
        ),
        (
            "Interactions",
            [field("user_id"), field("ITEM_ID"), field("TIMESTAMP", "long")],
            ("missing required field(s) USER_ID", "Field user_id", "rename it to USER_ID"),
        ),
        (
            "Interactions",
            [field("USER_ID", "long"), field("ITEM_ID"), field("TIMESTAMP", "long")],
            ("Field USER_ID", "must have type string"),
        ),
        (
            "Interactions",
            [field("USER_ID"), field("ITEM_ID"), field("TIMESTAMP", "int")],
            ("Field TIMESTAMP", "must have type long"),
        ),
        (
            "Interactions",
            [field("USER_ID"), field("ITEM_ID"), field("TIMESTAMP", ["null", "long"])],
            ("Field TIMESTAMP", "must not be nullable"),
        ),
        (
            "Interactions",
            [field("USER_ID", ["null", "string"]), field("ITEM_ID"), field("TIMESTAMP", "long")],
            ("Field USER_ID", "must not be nullable"),
        ),
        (
            "Interactions",
            interactions(field("EVENT_TYPE", "string", categorical=True)),
            ("Field EVENT_TYPE", "must not be categorical"),
        ),
        (
            "Interactions",
            interactions(field("EVENT_VALUE", "string")),
            ("Field EVENT_VALUE", "must have type double or float"),
        ),
        (
            "Interactions",
            interactions(*[field(f"M{i}", "int") for i in range(6)]),
            ("6 metadata fields", "maximum is 5"),
        ),
        (
            "Interactions",
            interactions(field("NOTE", "string", textual=True)),
            ("Field NOTE", "textual fields are only allowed in Items"),
        ),
        ("Items", [field("ITEM_ID")], ("at least 1 metadata field",)),
        ("Items", [field("ID"), field("X", "int")], ("missing required field(s) ITEM_ID",)),
        (
            "Items",
            [field("ITEM_ID"), *[field(f"M{i}", "float") for i in range(101)]],
            ("101 metadata fields", "maximum is 100"),
        ),
        (
            "Items",
            [field("ITEM_ID"), field("A", textual=True), field("B", textual=True)],
            ("Fields A, B", "only 1 textual field"),
        ),
        (
            "Items",
            [field("ITEM_ID"), field("A", itemName=True), field("B", itemName=True)],
            ("Fields A, B", "only 1 itemName field"),
        ),
        (
            "Items",
            [field("ITEM_ID"), field("CREATION_TIMESTAMP", "string")],
            ("Field CREATION_TIMESTAMP", "must have type long"),
        ),
        ("Users", [field("USER_ID")], ("at least 1 metadata field",)),
        (
            "Users",
            [field("USER_ID"), *[field(f"M{i}", "int") for i in range(26)]],
            ("26 metadata fields", "maximum is 25"),
        ),
        (
            "Users",
            [field("USER_ID"), field("NAME", itemName=True)],
            ("Field NAME", "itemName is only allowed in Items"),
        ),
        (
            "Users",
            [field("USER_ID"), field("BIO", textual=True)],
            ("Field BIO", "textual fields are only allowed in Items"),
        ),
        (
            "Actions",
            [field("ACTION_ID"), *[field(f"M{i}", "int") for i in range(11)]],
            ("11 metadata fields", "maximum is 10"),
        ),
        (
            "Actions",
            [field("ACTION_ID"), field("VALUE", "string")],
            ("Field VALUE", "must have type int or long"),
        ),
        (
            "Action_Interactions",
            [field("USER_ID"), field("ACTION_ID"), field("TIMESTAMP", "long")],
            ("missing required field(s) EVENT_TYPE",),
        ),
        (
            "Action_Interactions",
            [
                field("USER_ID"),
                field("ACTION_ID"),
                field("EVENT_TYPE", categorical=True),
                field("TIMESTAMP", "long"),
            ],
            ("Field EVENT_TYPE", "must not be categorical"),
        ),
    ],
)
def test_rejects_invalid_custom_schemas(
    kind: str, fields: list[dict[str, Any]], fragments: tuple[str, ...]
) -> None:
    rejects_dataset(fields, kind, None, *fragments)


@pytest.mark.parametrize(
    ("given_type", "expected"),
    [
        ("interactions", "Interactions"),
        ("ITEMS", "Items"),
        ("users", "Users"),
        ("Action_Interactions", "Action_Interactions"),
        ("ACTION_INTERACTIONS", "Action_Interactions"),
        ("actions", "Actions"),
    ],
)
def test_dataset_type_is_case_insensitive(given_type: str, expected: str) -> None:
    assert normalize_dataset_type(given_type) == expected


def test_unknown_dataset_type_and_domain() -> None:
    with pytest.raises(InvalidInputException, match="Dataset type 'Events' is not valid"):
        check_dataset_schema(schema("Interactions", interactions()), "Events", None)
    with pytest.raises(InvalidInputException, match="Domain 'RETAIL' is not valid"):
        check_dataset_schema(schema("Interactions", interactions()), "Interactions", "RETAIL")


# --- domain rules --------------------------------------------------------------------------------

VOD_ITEMS = [
    field("ITEM_ID"),
    field("GENRES", categorical=True),
    field("CREATION_TIMESTAMP", "long"),
]
ECOMMERCE_ITEMS = [
    field("ITEM_ID"),
    field("PRICE", "float"),
    field("CATEGORY_L1", categorical=True),
]


@pytest.mark.parametrize("domain", ["VIDEO_ON_DEMAND", "ECOMMERCE"])
def test_domain_interactions_need_event_type(domain: str) -> None:
    rejects_dataset(interactions(), "Interactions", domain, "missing required field(s) EVENT_TYPE")
    rejects_dataset(
        interactions(field("EVENT_TYPE", ["null", "string"])),
        "Interactions",
        domain,
        "Field EVENT_TYPE",
        "must not be nullable",
    )
    check_dataset_schema(
        schema("Interactions", interactions(field("EVENT_TYPE"))), "Interactions", domain
    )


@pytest.mark.parametrize("domain", ["VIDEO_ON_DEMAND", "ECOMMERCE"])
@pytest.mark.parametrize("kind", ["Actions", "Action_Interactions"])
def test_actions_are_not_allowed_in_domain_groups(domain: str, kind: str) -> None:
    fields = [field("USER_ID"), field("ACTION_ID"), field("EVENT_TYPE"), field("TIMESTAMP", "long")]
    rejects_dataset(fields, kind, domain, f"{kind} datasets are not supported", domain)


def test_vod_items_rules() -> None:
    check_dataset_schema(schema("Items", VOD_ITEMS), "Items", "VIDEO_ON_DEMAND")
    rejects_dataset(VOD_ITEMS[:1] + VOD_ITEMS[2:], "Items", "VIDEO_ON_DEMAND", "GENRES")
    rejects_dataset(VOD_ITEMS[:2], "Items", "VIDEO_ON_DEMAND", "CREATION_TIMESTAMP")
    rejects_dataset(
        [field("ITEM_ID"), field("GENRES"), field("CREATION_TIMESTAMP", "long")],
        "Items",
        "VIDEO_ON_DEMAND",
        "Field GENRES",
        '"categorical": true',
    )
    rejects_dataset(
        [*VOD_ITEMS, field("PRODUCT_DESCRIPTION", ["null", "string"])],
        "Items",
        "VIDEO_ON_DEMAND",
        "Field PRODUCT_DESCRIPTION",
        '"textual": true',
    )
    # The same schema is fine in a custom group.
    check_dataset_schema(schema("Items", VOD_ITEMS[:1] + VOD_ITEMS[2:]), "Items", None)


def test_ecommerce_items_rules() -> None:
    check_dataset_schema(schema("Items", ECOMMERCE_ITEMS), "Items", "ECOMMERCE")
    rejects_dataset(ECOMMERCE_ITEMS[::2], "Items", "ECOMMERCE", "missing required field(s) PRICE")
    rejects_dataset(ECOMMERCE_ITEMS[:2], "Items", "ECOMMERCE", "CATEGORY_L1")
    rejects_dataset(
        [field("ITEM_ID"), field("PRICE", "string"), field("CATEGORY_L1", categorical=True)],
        "Items",
        "ECOMMERCE",
        "Field PRICE",
        "must have type double or float",
    )
    rejects_dataset(
        [field("ITEM_ID"), field("PRICE", "float"), field("CATEGORY_L1")],
        "Items",
        "ECOMMERCE",
        "Field CATEGORY_L1",
        "categorical",
    )


def test_domain_users_reserved_fields_are_categorical() -> None:
    rejects_dataset(
        [field("USER_ID"), field("MEMBERSHIP_STATUS")], "Users", "ECOMMERCE", "MEMBERSHIP_STATUS"
    )
    rejects_dataset(
        [field("USER_ID"), field("SUBSCRIPTION_MODEL")],
        "Users",
        "VIDEO_ON_DEMAND",
        "SUBSCRIPTION_MODEL",
    )
    check_dataset_schema(
        schema("Users", [field("USER_ID"), field("AGE", "int")]), "Users", "ECOMMERCE"
    )


@pytest.mark.parametrize(("domain", "kind"), sorted(DEFAULT_DOMAIN_SCHEMAS))
def test_default_domain_schemas_pass_their_own_rules(domain: str, kind: str) -> None:
    parsed = parse_schema(default_domain_schema(domain, kind))
    assert parsed.name == kind
    check_dataset_schema(parsed, kind, domain)


def test_no_default_domain_schema_for_actions() -> None:
    with pytest.raises(InvalidInputException, match="no default Actions schema"):
        default_domain_schema("ECOMMERCE", "Actions")


# --- check_schema_update -------------------------------------------------------------------------

USERS_V1 = [field("USER_ID"), field("MEMBERSHIP_STATUS", categorical=True)]


def test_update_may_add_nullable_fields() -> None:
    check_schema_update(
        schema("Users", USERS_V1), schema("Users", [*USERS_V1, field("AGE", ["null", "int"])])
    )
    # Field order may change.
    check_schema_update(schema("Users", USERS_V1), schema("Users", USERS_V1[::-1]))


@pytest.mark.parametrize(
    ("new_fields", "fragments"),
    [
        ([field("USER_ID")], ("Field MEMBERSHIP_STATUS", "keep every field")),
        (
            [field("USER_ID"), field("MEMBERSHIP_STATUS")],
            ("Field MEMBERSHIP_STATUS", "cannot change", '"string" categorical', 'now "string"'),
        ),
        (
            [field("USER_ID"), field("MEMBERSHIP_STATUS", ["null", "string"], categorical=True)],
            ("Field MEMBERSHIP_STATUS", "cannot change"),
        ),
        (
            [field("USER_ID", "long"), field("MEMBERSHIP_STATUS", categorical=True)],
            ("Field USER_ID", "cannot change"),
        ),
        ([*USERS_V1, field("AGE", "int")], ("Field AGE", "must allow null")),
    ],
)
def test_update_rejects_changes(
    new_fields: list[dict[str, Any]], fragments: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInputException) as info:
        check_schema_update(schema("Users", USERS_V1), schema("Users", new_fields))
    for fragment in fragments:
        assert fragment in info.value.message


# --- properties ----------------------------------------------------------------------------------

TYPES = ["string", "int", "long", "float", "double", "boolean"]
FIRST_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"


@st.composite
def field_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(
        st.lists(
            st.builds(
                str.__add__,
                st.sampled_from(FIRST_CHARS),
                st.text(alphabet=FIRST_CHARS + "0123456789", max_size=12),
            ),
            min_size=1,
            max_size=20,
            unique_by=lambda n: re.sub(r"[^0-9a-z]", "", n.lower()),
        )
    )
    fields = []
    for name in names:
        type_ = draw(st.sampled_from(TYPES))
        shape = draw(st.sampled_from(["plain", "list", "null-first", "null-last"]))
        written: Any = {
            "plain": type_,
            "list": [type_],
            "null-first": ["null", type_],
            "null-last": [type_, "null"],
        }[shape]
        entry: dict[str, Any] = {"name": name, "type": written}
        if type_ == "string":
            attribute = draw(st.sampled_from([None, "categorical", "textual", "itemName"]))
            if attribute:
                entry[attribute] = True
        fields.append(entry)
    return fields


@settings(max_examples=60, deadline=None)
@given(field_lists())
def test_random_valid_field_lists_parse_and_keep_their_meaning(
    fields: list[dict[str, Any]],
) -> None:
    parsed = parse_schema(schema_text("Anything", fields))
    assert [f.name for f in parsed.fields] == [f["name"] for f in fields]
    for written, parsed_field in zip(fields, parsed.fields, strict=True):
        members = written["type"] if isinstance(written["type"], list) else [written["type"]]
        assert parsed_field.type in members
        assert parsed_field.nullable == ("null" in members)
        assert parsed_field.categorical == bool(written.get("categorical"))
        assert parsed_field.textual == bool(written.get("textual"))
        assert parsed_field.item_name == bool(written.get("itemName"))
    assert len(parsed.to_arrow_schema()) == len(fields)


@settings(max_examples=40, deadline=None)
@given(field_lists(), st.data())
def test_a_name_that_differs_only_in_punctuation_or_case_is_rejected(
    fields: list[dict[str, Any]], data: st.DataObject
) -> None:
    original = data.draw(st.sampled_from(fields))["name"]
    twin = "_".join(original.lower()) if len(original) > 1 else original.swapcase() + "_"
    if twin == original:
        twin = original + "_"
    position = data.draw(st.integers(0, len(fields)))
    fields.insert(position, {"name": twin, "type": "int"})
    with pytest.raises(InvalidInputException, match="unique after removing non-alphanumeric"):
        parse_schema(schema_text("Anything", fields))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["type", "name", "namespace", "fields", "version", "doc"]), JSON, max_size=6
    )
    | st.builds(
        lambda t, extra: {
            "type": "record",
            "name": "X",
            "fields": [{"name": "A", "type": t, **extra}],
        },
        JSON,
        st.dictionaries(st.sampled_from(["categorical", "textual", "itemName"]), JSON, max_size=3),
    )
)
def test_arbitrary_documents_fail_only_with_invalid_input(doc: dict[str, Any]) -> None:
    try:
        parse_schema(json.dumps(doc))
    except InvalidInputException as exc:
        assert exc.message
