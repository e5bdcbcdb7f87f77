"""Schemas parsed as the server parses them, for the data tests."""

from __future__ import annotations

from typing import Any

from openpersonalize.data.schemas import AvroSchema, parse_schema
from tests.schemas import field, schema_text


def schema(name: str, fields: list[dict[str, Any]], **extra: Any) -> AvroSchema:
    return parse_schema(schema_text(name, fields, **extra))


def interactions(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [field("USER_ID"), field("ITEM_ID"), field("TIMESTAMP", "long"), *extra]
