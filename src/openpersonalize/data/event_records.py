"""Turning the Put* requests of personalize-events into dataset records.

A record is a dict keyed by schema column (``USER_ID``, ``ITEM_ID``, ``TIMESTAMP`` …) with values
of the column's Python type. ``properties`` arrive as a JSON string whose keys are camelCase
spellings of the columns (``numberOfRatings`` → ``NUMBER_OF_RATINGS``): keys match a column when
they are equal after dropping underscores and case. Every problem is an ``InvalidInputException``
that names the record (``eventList[3]``), the key and what was wrong, with the valid keys listed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from openpersonalize.data.dataset_reader import SESSION_COLUMN, DatasetSpec
from openpersonalize.data.schemas import (
    ID_FIELDS,
    INT_RANGES,
    MAX_CATEGORICAL_CHARS,
    MAX_ID_CHARS,
    MAX_TIMESTAMP_SECONDS,
    TIMESTAMP_FIELDS,
    SchemaField,
)
from openpersonalize.errors import InvalidInputException
from openpersonalize.wire import jsonbytes

MAX_EVENT_BYTES = 10 * 1024

Record = dict[str, Any]


def normalize_key(name: str) -> str:
    return name.replace("_", "").lower()


def camel_case(column: str) -> str:
    """``NUMBER_OF_RATINGS`` → ``numberOfRatings`` (how SDK users spell property keys)."""
    first, *rest = column.lower().split("_")
    return first + "".join(part.capitalize() for part in rest)


def timestamp_seconds(value: Any, where: str) -> float:
    """An epoch-seconds timestamp from a number or numeric string; milliseconds are refused."""
    if isinstance(value, bool):
        raise InvalidInputException(f"{where} must be a timestamp in epoch seconds, not {value}.")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInputException(
            f"{where} must be a timestamp in epoch seconds, not {value!r}."
        ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInputException(f"{where} must be a timestamp in epoch seconds, not {value!r}.")
    if seconds > MAX_TIMESTAMP_SECONDS:
        raise InvalidInputException(
            f"{where} {value} is too large: timestamps must be Unix epoch seconds, not "
            "milliseconds (divide by 1000)."
        )
    return seconds


class RecordBuilder:
    """Builds records of one dataset from Put* request members."""

    def __init__(self, spec: DatasetSpec, reserved: Iterable[str] = ()) -> None:
        self.spec = spec
        self.fields = {normalize_key(f.name): f for f in spec.schema.fields}
        # Looked up for every member of every event: plain dicts, built once per builder.
        self._by_name = {f.name: f for f in spec.schema.fields}
        self._required = tuple(f.name for f in spec.schema.fields if not f.nullable)
        # Property keys that have a request member of their own and may not be properties.
        self.reserved = {normalize_key(k): k for k in reserved}

    def valid_keys(self) -> str:
        keys = [
            camel_case(f.name)
            for f in self.spec.schema.fields
            if normalize_key(f.name) not in self.reserved
        ]
        return ", ".join(keys) or "(none)"

    def properties(self, raw: Any, where: str, *, allowed_ids: Iterable[str] = ()) -> Record:
        """Parse a ``properties`` JSON string into columns. ``allowed_ids`` are id columns that
        may appear as properties (``ITEM_ID`` inside PutEvents properties, as old clients do)."""
        if raw is None:
            return {}
        if isinstance(raw, str):
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InvalidInputException(
                    f"Error parsing properties json of {where}: {exc.msg} (position {exc.pos})."
                ) from None
        else:
            parsed = raw
        if not isinstance(parsed, dict):
            raise InvalidInputException(
                f"Error parsing properties json of {where}: expected a JSON object of "
                f"column values, got {type(parsed).__name__}."
            )
        allowed = {normalize_key(c) for c in allowed_ids}
        record: Record = {}
        for key, value in parsed.items():
            normalized = normalize_key(str(key))
            if normalized in self.reserved and normalized not in allowed:
                raise InvalidInputException(
                    f"Invalid property {key!r} in {where}: it is set by the request member "
                    f"{self.reserved[normalized]!r}, not in properties."
                )
            schema_field = self.fields.get(normalized)
            if schema_field is None or (
                schema_field.name in ID_FIELDS and normalized not in allowed
            ):
                raise InvalidInputException(
                    f"Invalid property {key!r} in {where}: the dataset schema has no such column. "
                    f"Valid property keys: {self.valid_keys()}."
                )
            record[schema_field.name] = self.coerce(
                schema_field, value, f"{where} property {key!r}"
            )
        return record

    def set(self, record: Record, column: str, value: Any, where: str) -> None:
        """Set a column from a request member when the schema has it (else it is not stored)."""
        if value is None:
            return
        schema_field = self._by_name.get(column)
        if schema_field is not None:
            record[column] = self.coerce(schema_field, value, where)

    def coerce(self, f: SchemaField, value: Any, where: str) -> Any:
        if value is None:
            if not f.nullable:
                raise InvalidInputException(f"{where} cannot be null: {f.name} is required.")
            return None
        if f.type == "string":
            text = _as_text(value, f, where)
            if f.name in ID_FIELDS and len(text) > MAX_ID_CHARS:
                raise InvalidInputException(
                    f"{where} is {len(text)} characters long; ids may have at most "
                    f"{MAX_ID_CHARS} characters."
                )
            if f.categorical or f.name == "IMPRESSION":
                for part in text.split("|"):
                    if len(part) > MAX_CATEGORICAL_CHARS:
                        raise InvalidInputException(
                            f"{where}: a value between '|' separators is longer than "
                            f"{MAX_CATEGORICAL_CHARS} characters."
                        )
            return text
        if f.type in ("int", "long"):
            if f.name in TIMESTAMP_FIELDS:
                return int(timestamp_seconds(value, where))
            number = _as_integer(value, where, f)
            low, high = INT_RANGES[f.type]
            if not low <= number <= high:
                raise InvalidInputException(f"{where} {number} is out of range for {f.type}.")
            return number
        if f.type in ("float", "double"):
            if isinstance(value, bool):
                raise InvalidInputException(f"{where} must be a number ({f.name} is {f.type}).")
            try:
                real = float(value)
            except (TypeError, ValueError):
                raise InvalidInputException(
                    f"{where} must be a number ({f.name} is {f.type}), not {value!r}."
                ) from None
            if not math.isfinite(real):  # NaN / Infinity are not JSON numbers
                raise InvalidInputException(
                    f"{where} must be a finite number ({f.name} is {f.type}), not {value!r}."
                )
            return real
        # boolean
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidInputException(f"{where} must be true or false ({f.name} is boolean).")

    def check_required(self, record: Record, where: str, *, optional: Collection[str] = ()) -> None:
        for name in self._required:
            if record.get(name) is None and name not in optional:
                raise InvalidInputException(
                    f"{where} is missing the required column {name} "
                    f"(send it as property {camel_case(name)!r})."
                )


def _as_text(value: Any, f: SchemaField, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "|".join(str(v) for v in value)
    raise InvalidInputException(
        f"{where} must be a string ({f.name} is string), not {type(value).__name__}."
    )


def _as_integer(value: Any, where: str, f: SchemaField) -> int:
    if isinstance(value, bool):
        raise InvalidInputException(f"{where} must be an integer ({f.name} is {f.type}).")
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputException(
            f"{where} must be an integer ({f.name} is {f.type}), not {value!r}."
        ) from None
    if not number.is_integer():
        raise InvalidInputException(
            f"{where} must be an integer ({f.name} is {f.type}), not {value!r}."
        )
    return int(number)


def event_size(event: Mapping[str, Any]) -> int:
    return len(json.dumps(event, separators=(",", ":")).encode())


def within_size_limit(events: Sequence[Mapping[str, Any]]) -> bool:
    """True when every event is surely within :data:`MAX_EVENT_BYTES`, from one fast measurement
    of the whole list: each event's :func:`event_size` (ASCII-escaped JSON) is at most three
    times its UTF-8 JSON (a character of 2 or 4 UTF-8 bytes becomes 6 or 12), and each event is
    part of the list. False means: measure each one."""
    return 3 * len(jsonbytes.dumps(events)) <= MAX_EVENT_BYTES


__all__ = [
    "MAX_EVENT_BYTES",
    "SESSION_COLUMN",
    "RecordBuilder",
    "camel_case",
    "event_size",
    "normalize_key",
    "timestamp_seconds",
    "within_size_limit",
]
