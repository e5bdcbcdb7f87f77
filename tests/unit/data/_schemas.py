"""Helpers to write schema JSON in tests."""

from __future__ import annotations

import json
from typing import Any

from openpersonalize.data.schemas import AvroSchema, parse_schema


def field(name: str, type_: Any = "string", **attributes: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **attributes}


def schema_text(name: str, fields: list[dict[str, Any]], **extra: Any) -> str:
    record: dict[str, Any] = {
        "type": "record",
        "name": name,
        "namespace": "com.amazonaws.personalize.schema",
        "fields": fields,
        "version": "1.0",
    }
    record.update(extra)
    return json.dumps(record)


def schema(name: str, fields: list[dict[str, Any]], **extra: Any) -> AvroSchema:
    return parse_schema(schema_text(name, fields, **extra))


def interactions(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [field("USER_ID"), field("ITEM_ID"), field("TIMESTAMP", "long"), *extra]
