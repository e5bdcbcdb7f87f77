"""Avro schema JSON for tests, unit and contract alike: one builder and the schemas they share.

Datasets are written as (field name, Avro type) pairs, a field's extra keys by its name::

    avro("Items", [("ITEM_ID", "string"), ("GENRE", "string")], GENRE={"categorical": True})

:func:`schema_text` takes field objects as they are, for tests of malformed fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

NAMESPACE = "com.amazonaws.personalize.schema"


def field(name: str, type_: Any = "string", **attributes: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **attributes}


def _record(name: str, fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "namespace": NAMESPACE,
        "fields": fields,
        "version": "1.0",
        **extra,
    }


def schema_text(name: str, fields: list[dict[str, Any]], **extra: Any) -> str:
    """A record of ``fields`` as given; ``extra`` adds or replaces top-level keys (``doc``,
    ``version``)."""
    return json.dumps(_record(name, fields, **extra))


def record(name: str, fields: Iterable[tuple[str, Any]], **attrs: dict[str, Any]) -> dict[str, Any]:
    """A dataset's schema as a dict; ``attrs`` maps a field name to its extra keys."""
    return _record(name, [field(n, t, **attrs.get(n, {})) for n, t in fields])


def avro(name: str, fields: Iterable[tuple[str, Any]], **attrs: dict[str, Any]) -> str:
    """:func:`record` as the JSON text CreateSchema takes."""
    return json.dumps(record(name, fields, **attrs))


# The four columns every Interactions schema of the tests starts with.
INTERACTION_FIELDS: list[tuple[str, Any]] = [
    ("USER_ID", "string"),
    ("ITEM_ID", "string"),
    ("TIMESTAMP", "long"),
    ("EVENT_TYPE", "string"),
]
BASIC_INTERACTIONS = avro("Interactions", INTERACTION_FIELDS)
