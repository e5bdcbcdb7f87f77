"""Personalize Avro schemas: parsing, per-dataset-type rules, and the add-only update check.

A Personalize schema is a flat Avro ``record``: each field is a primitive (``string``, ``int``,
``long``, ``float``, ``double``, ``boolean``) or a union of one primitive with ``null``, plus the
Personalize attributes ``categorical``, ``textual`` and ``itemName``. ``parse_schema`` checks what
CreateSchema can check on the text alone; ``check_dataset_schema`` adds the rules that depend on
the dataset type and the dataset group's domain (CreateDataset); ``check_schema_update`` is the
UpdateDataset rule. Every violation is an ``InvalidInputException`` naming the field and the rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import pyarrow as pa

from openpersonalize.errors import InvalidInputException

FieldType = Literal["string", "int", "long", "float", "double", "boolean"]
FIELD_TYPES: frozenset[str] = frozenset(get_args(FieldType))

MAX_SCHEMA_CHARS = 20_000
DOMAINS = ("ECOMMERCE", "VIDEO_ON_DEMAND")

INTERACTIONS = "Interactions"
ITEMS = "Items"
USERS = "Users"
ACTIONS = "Actions"
ACTION_INTERACTIONS = "Action_Interactions"
DATASET_TYPES = (INTERACTIONS, ITEMS, USERS, ACTIONS, ACTION_INTERACTIONS)

# Ids are capped at 256 characters; timestamps are Unix epoch seconds. The CSV importer uses these.
ID_FIELDS = frozenset({"USER_ID", "ITEM_ID", "ACTION_ID"})
# Value limits of records, in imports and in Put* calls alike.
MAX_ID_CHARS = 256
MAX_CATEGORICAL_CHARS = 1000
# Epoch seconds reach 1e11 in the year 5138; anything larger is milliseconds (or worse).
MAX_TIMESTAMP_SECONDS = 100_000_000_000
INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}  # Avro int / long
TIMESTAMP_FIELDS = frozenset(
    {"TIMESTAMP", "CREATION_TIMESTAMP", "EXPIRATION_TIMESTAMP", "ACTION_EXPIRATION_TIMESTAMP"}
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")

# Arrow storage per logical type. Avro ``float`` is stored as float64 so that an exported dataset
# prints the digits the user imported (129.99, not 129.99000549316406).
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
}


def _invalid(message: str) -> InvalidInputException:
    return InvalidInputException(message)


@dataclass(frozen=True, slots=True)
class SchemaField:
    """One field of a schema; ``type`` is the non-null member of the Avro type."""

    name: str
    type: FieldType
    nullable: bool = False
    categorical: bool = False
    textual: bool = False
    item_name: bool = False

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.type]

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "long", "float", "double")

    def describe(self) -> str:
        """The type as a user would write it, e.g. ``["null","string"] categorical``."""
        text = f'["null","{self.type}"]' if self.nullable else f'"{self.type}"'
        for flag, word in (
            (self.categorical, "categorical"),
            (self.textual, "textual"),
            (self.item_name, "itemName"),
        ):
            if flag:
                text += f" {word}"
        return text

    def to_arrow_field(self) -> pa.Field:
        metadata = {
            key: b"true"
            for key, flag in (
                ("categorical", self.categorical),
                ("textual", self.textual),
                ("itemName", self.item_name),
            )
            if flag
        }
        return pa.field(
            self.name, self.arrow_type, nullable=self.nullable, metadata=metadata or None
        )


@dataclass(frozen=True, slots=True)
class AvroSchema:
    """A parsed, flat Personalize schema. Field order is the order written in the schema."""

    name: str
    fields: tuple[SchemaField, ...]
    namespace: str | None = None
    version: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def get(self, name: str) -> SchemaField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def field(self, name: str) -> SchemaField:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def to_arrow_schema(self) -> pa.Schema:
        """Arrow schema with the same columns; Personalize attributes are field metadata."""
        return pa.schema([f.to_arrow_field() for f in self.fields])


# --- parsing -------------------------------------------------------------------------------------


def parse_schema(text: str) -> AvroSchema:
    """Parse and validate the ``schema`` string of CreateSchema."""
    if len(text) > MAX_SCHEMA_CHARS:
        raise _invalid(
            f"Schema is {len(text):,} characters long; the maximum is {MAX_SCHEMA_CHARS:,}."
        )
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _invalid(f"Schema is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _invalid("Schema must be a JSON object describing an Avro record.")
    if doc.get("type") != "record":
        raise _invalid(f'Schema "type" must be "record", got {_show(doc.get("type"))}.')
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _invalid(
            f'Schema "name" must be an Avro name like "Interactions", got {_show(name)}.'
        )
    namespace = doc.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace)
    ):
        raise _invalid(f'Schema "namespace" must be a dotted Avro name, got {_show(namespace)}.')
    version = _parse_version(doc.get("version"))
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise _invalid('Schema "fields" must be a non-empty list of fields.')
    fields = tuple(_parse_field(raw, position) for position, raw in enumerate(raw_fields, 1))
    _check_unique_names(fields)
    return AvroSchema(name=name, fields=fields, namespace=namespace, version=version)


def _show(value: object) -> str:
    shown = json.dumps(value) if _is_json(value) else repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _is_json(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _parse_version(value: object) -> str | None:
    # Clients write "1.0", 1 or nothing at all.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(f'Schema "version" must be a string such as "1.0", got {_show(value)}.')
    return str(value)


def _parse_field(raw: object, position: int) -> SchemaField:
    if not isinstance(raw, dict):
        raise _invalid(f"Schema field #{position} must be a JSON object, got {_show(raw)}.")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _invalid(
            f"Schema field #{position}: name must match [A-Za-z_][A-Za-z0-9_]*, got {_show(name)}."
        )
    field_type, nullable = _parse_type(name, raw.get("type"))
    flags = {}
    for key in ("categorical", "textual", "itemName"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise _invalid(f'Field {name}: "{key}" must be true or false, got {_show(value)}.')
        flags[key] = value
        if value and field_type != "string":
            raise _invalid(
                f'Field {name}: "{key}" is only allowed on string fields, not {field_type}.'
            )
    if flags["categorical"] and flags["textual"]:
        raise _invalid(f"Field {name}: a field cannot be both categorical and textual.")
    return SchemaField(
        name=name,
        type=field_type,
        nullable=nullable,
        categorical=flags["categorical"],
        textual=flags["textual"],
        item_name=flags["itemName"],
    )


def _parse_type(name: str, raw: object) -> tuple[FieldType, bool]:
    """Return (non-null type, nullable) for a primitive, ``{"type": primitive}`` or a union."""
    members = raw if isinstance(raw, list) else [raw]
    if not members:
        raise _invalid(f"Field {name}: an empty union is not a type.")
    primitives: list[str] = []
    for member in members:
        if isinstance(member, dict) and set(member) <= {"type", "logicalType"}:
            member = member.get("type")
        if isinstance(member, dict | list) or member in ("record", "array", "map", "enum", "fixed"):
            raise _invalid(
                f"Field {name}: nested types are not supported; schemas must be flat "
                f"(got {_show(raw)})."
            )
        if member != "null" and member not in FIELD_TYPES:
            raise _invalid(
                f"Field {name}: unsupported type {_show(member)}; use one of float, double, "
                "int, long, string, boolean, or a union of one of them with null."
            )
        primitives.append(str(member))
    if len(set(primitives)) != len(primitives):
        raise _invalid(f"Field {name}: union {_show(raw)} repeats a type.")
    non_null = [p for p in primitives if p != "null"]
    if len(non_null) != 1:
        raise _invalid(
            f"Field {name}: type {_show(raw)} must name exactly one non-null type "
            '(a union may only add "null").'
        )
    field_type: FieldType = non_null[0]  # type: ignore[assignment]
    return field_type, len(primitives) == 2


def _normalized(name: str) -> str:
    return _NOT_ALNUM.sub("", name.lower())


def _check_unique_names(fields: Iterable[SchemaField]) -> None:
    seen: dict[str, str] = {}
    for f in fields:
        key = _normalized(f.name)
        if key in seen:
            raise _invalid(
                f"Fields {seen[key]} and {f.name} conflict: field names must be unique after "
                "removing non-alphanumeric characters (case-insensitive)."
            )
        seen[key] = f.name


# --- dataset-type and domain rules ---------------------------------------------------------------

_LONG = frozenset({"long"})
_STRING = frozenset({"string"})
_FLOAT = frozenset({"float", "double"})
_INTEGER = frozenset({"int", "long"})


@dataclass(frozen=True, slots=True)
class _Reserved:
    """A reserved field: its allowed types, whether it may be null, and a required attribute."""

    types: frozenset[str]
    nullable: bool = True
    attribute: Literal["categorical", "textual", None] = None


@dataclass(frozen=True, slots=True)
class _Rules:
    required: tuple[str, ...]
    reserved: Mapping[str, _Reserved]
    min_metadata: int
    max_metadata: int
    metadata_counts_reserved: bool  # Items/Users/Actions count every non-id field


_ID = _Reserved(_STRING, nullable=False)
_TS = _Reserved(_LONG, nullable=False)
_OPT_STRING = _Reserved(_STRING)

_CUSTOM_RULES: dict[str, _Rules] = {
    INTERACTIONS: _Rules(
        required=("USER_ID", "ITEM_ID", "TIMESTAMP"),
        reserved={
            "USER_ID": _ID,
            "ITEM_ID": _ID,
            "TIMESTAMP": _TS,
            "EVENT_TYPE": _OPT_STRING,
            "EVENT_VALUE": _Reserved(_FLOAT),
            "IMPRESSION": _OPT_STRING,
            "RECOMMENDATION_ID": _OPT_STRING,
            "EVENT_ATTRIBUTION_SOURCE": _OPT_STRING,
        },
        min_metadata=0,
        max_metadata=5,
        metadata_counts_reserved=False,
    ),
    ITEMS: _Rules(
        required=("ITEM_ID",),
        reserved={"ITEM_ID": _ID, "CREATION_TIMESTAMP": _Reserved(_LONG)},
        min_metadata=1,
        max_metadata=100,
        metadata_counts_reserved=True,
    ),
    USERS: _Rules(
        required=("USER_ID",),
        reserved={"USER_ID": _ID},
        min_metadata=1,
        max_metadata=25,
        metadata_counts_reserved=True,
    ),
    ACTIONS: _Rules(
        required=("ACTION_ID",),
        reserved={
            "ACTION_ID": _ID,
            "CREATION_TIMESTAMP": _Reserved(_LONG),
            "VALUE": _Reserved(_INTEGER),
            "TYPE": _OPT_STRING,
            # The docs spell it both ways (spec appendix C.5); accept either.
            "EXPIRATION_TIMESTAMP": _Reserved(_LONG),
            "ACTION_EXPIRATION_TIMESTAMP": _Reserved(_LONG),
            "REPEAT_FREQUENCY": _Reserved(_INTEGER),
        },
        min_metadata=1,
        max_metadata=10,
        metadata_counts_reserved=True,
    ),
    ACTION_INTERACTIONS: _Rules(
        required=("USER_ID", "ACTION_ID", "EVENT_TYPE", "TIMESTAMP"),
        reserved={
            "USER_ID": _ID,
            "ACTION_ID": _ID,
            "EVENT_TYPE": _Reserved(_STRING, nullable=False),
            "TIMESTAMP": _TS,
            "IMPRESSION": _OPT_STRING,
            "RECOMMENDATION_ID": _OPT_STRING,
        },
        min_metadata=0,
        max_metadata=5,
        metadata_counts_reserved=False,
    ),
}

_CATEGORICAL = _Reserved(_STRING, attribute="categorical")
_TEXTUAL = _Reserved(_STRING, attribute="textual")

# Domain additions: (required fields, reserved fields) per (domain, dataset type).
_DOMAIN_RULES: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, _Reserved]]] = {
    ("VIDEO_ON_DEMAND", INTERACTIONS): (
        ("EVENT_TYPE",),
        {"EVENT_TYPE": _Reserved(_STRING, nullable=False)},
    ),
    ("ECOMMERCE", INTERACTIONS): (
        ("EVENT_TYPE",),
        {"EVENT_TYPE": _Reserved(_STRING, nullable=False)},
    ),
    ("VIDEO_ON_DEMAND", ITEMS): (
        ("GENRES", "CREATION_TIMESTAMP"),
        {
            "GENRES": _CATEGORICAL,
            "CREATION_TIMESTAMP": _Reserved(_LONG),
            "PRICE": _Reserved(_FLOAT),
            "DURATION": _Reserved(_FLOAT),
            "GENRE_L2": _CATEGORICAL,
            "GENRE_L3": _CATEGORICAL,
            "AVERAGE_RATING": _Reserved(_FLOAT),
            "PRODUCT_DESCRIPTION": _TEXTUAL,
            "CONTENT_OWNER": _CATEGORICAL,
            "CONTENT_CLASSIFICATION": _CATEGORICAL,
        },
    ),
    ("ECOMMERCE", ITEMS): (
        ("PRICE", "CATEGORY_L1"),
        {
            "PRICE": _Reserved(_FLOAT),
            "CATEGORY_L1": _CATEGORICAL,
            "CATEGORY_L2": _CATEGORICAL,
            "CATEGORY_L3": _CATEGORICAL,
            "PRODUCT_DESCRIPTION": _TEXTUAL,
            "CREATION_TIMESTAMP": _Reserved(_LONG),
            "AGE_GROUP": _CATEGORICAL,
            "ADULT": _CATEGORICAL,
            "GENDER": _CATEGORICAL,
        },
    ),
    ("VIDEO_ON_DEMAND", USERS): ((), {"SUBSCRIPTION_MODEL": _CATEGORICAL}),
    ("ECOMMERCE", USERS): ((), {"MEMBERSHIP_STATUS": _CATEGORICAL}),
}


def normalize_dataset_type(dataset_type: str) -> str:
    """``datasetType`` is case-insensitive (``interactions``, ``ACTION_INTERACTIONS`` …)."""
    key = dataset_type.replace("_", "").lower()
    for known in DATASET_TYPES:
        if known.replace("_", "").lower() == key:
            return known
    raise _invalid(
        f"Dataset type {dataset_type!r} is not valid; use one of {', '.join(DATASET_TYPES)}."
    )


def normalize_domain(domain: str | None) -> str | None:
    if domain is None or domain == "":
        return None
    if domain not in DOMAINS:
        raise _invalid(f"Domain {domain!r} is not valid; use one of {', '.join(DOMAINS)}.")
    return domain


def check_dataset_schema(schema: AvroSchema, dataset_type: str, domain: str | None = None) -> None:
    """Check ``schema`` against the rules for ``dataset_type`` in a Custom or domain group."""
    kind = normalize_dataset_type(dataset_type)
    domain = normalize_domain(domain)
    if domain is not None and kind in (ACTIONS, ACTION_INTERACTIONS):
        raise _invalid(
            f"{kind} datasets are not supported in a {domain} domain dataset group; "
            "use a Custom dataset group."
        )
    rules = _CUSTOM_RULES[kind]
    required = list(rules.required)
    reserved = dict(rules.reserved)
    if domain is not None:
        extra_required, extra_reserved = _DOMAIN_RULES.get((domain, kind), ((), {}))
        required += [name for name in extra_required if name not in required]
        reserved.update(extra_reserved)
    where = f"{kind} schema" + (f" ({domain} domain)" if domain else "")

    missing = [name for name in required if name not in schema]
    if missing:
        hints = [_case_hint(schema, name) for name in missing]
        raise _invalid(
            f"{where} is missing required field(s) {', '.join(missing)}."
            + "".join(h for h in hints if h)
        )
    for f in schema.fields:
        rule = reserved.get(f.name)
        if rule is not None:
            _check_reserved(f, rule, where)
        if f.name == "EVENT_TYPE" and f.categorical:
            raise _invalid(f"Field EVENT_TYPE: EVENT_TYPE must not be categorical ({where}).")
        if f.textual and kind != ITEMS:
            raise _invalid(f"Field {f.name}: textual fields are only allowed in Items schemas.")
        if f.item_name and kind != ITEMS:
            raise _invalid(f"Field {f.name}: itemName is only allowed in Items schemas.")

    _check_counts(schema, kind, rules, reserved, where)


def _case_hint(schema: AvroSchema, name: str) -> str:
    for f in schema.fields:
        if f.name.lower() == name.lower():
            return f" Field {f.name}: reserved field names are upper case; rename it to {name}."
    return ""


def _check_reserved(f: SchemaField, rule: _Reserved, where: str) -> None:
    if f.type not in rule.types:
        allowed = " or ".join(sorted(rule.types))
        raise _invalid(f"Field {f.name}: must have type {allowed} in a {where}, not {f.type}.")
    if f.nullable and not rule.nullable:
        raise _invalid(f"Field {f.name}: must not be nullable in a {where}.")
    if rule.attribute == "categorical" and not f.categorical:
        raise _invalid(f'Field {f.name}: must be "categorical": true in a {where}.')
    if rule.attribute == "textual" and not f.textual:
        raise _invalid(f'Field {f.name}: must be "textual": true in a {where}.')


def _check_counts(
    schema: AvroSchema, kind: str, rules: _Rules, reserved: Mapping[str, _Reserved], where: str
) -> None:
    ids = {"USER_ID", "ITEM_ID", "ACTION_ID"}
    if rules.metadata_counts_reserved:
        metadata = [f for f in schema.fields if f.name not in ids]
        what = "metadata fields"
    else:
        metadata = [f for f in schema.fields if f.name not in reserved]
        what = "metadata fields besides the reserved ones"
    if len(metadata) < rules.min_metadata:
        raise _invalid(
            f"{where} needs at least {rules.min_metadata} metadata field besides the id."
        )
    if len(metadata) > rules.max_metadata:
        raise _invalid(
            f"{where} has {len(metadata)} {what} ({', '.join(f.name for f in metadata)}); "
            f"the maximum is {rules.max_metadata}."
        )
    textual = [f.name for f in schema.fields if f.textual]
    if len(textual) > 1:
        raise _invalid(
            f"Fields {', '.join(textual)}: an Items schema may have only 1 textual field."
        )
    item_names = [f.name for f in schema.fields if f.item_name]
    if len(item_names) > 1:
        raise _invalid(
            f"Fields {', '.join(item_names)}: an Items schema may have only 1 itemName field."
        )


def check_schema_update(old: AvroSchema, new: AvroSchema) -> None:
    """UpdateDataset: the new schema keeps every old field unchanged and only adds nullable ones."""
    for before in old.fields:
        after = new.get(before.name)
        if after is None:
            raise _invalid(
                f"Field {before.name}: the new schema must keep every field of the current schema."
            )
        if after != before:
            raise _invalid(
                f"Field {before.name}: its type and attributes cannot change "
                f"(was {before.describe()}, now {after.describe()})."
            )
    for added in new.fields:
        if added.name not in old and not added.nullable:
            raise _invalid(
                f"Field {added.name}: fields added by a schema update must allow null "
                f'(use ["null","{added.type}"]).'
            )


def schema_field_payload(f: SchemaField) -> dict[str, Any]:
    """The Avro JSON object for one field (used to write default schemas and in tests)."""
    payload: dict[str, Any] = {"name": f.name, "type": ["null", f.type] if f.nullable else f.type}
    if f.categorical:
        payload["categorical"] = True
    if f.textual:
        payload["textual"] = True
    if f.item_name:
        payload["itemName"] = True
    return payload
