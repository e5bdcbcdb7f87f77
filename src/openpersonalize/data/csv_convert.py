"""Text columns of a CSV batch → the typed columns of a Personalize schema, with every value
checked (numbers, booleans, id and categorical lengths, timestamps in seconds) and each problem
reported with its data row and column. Used by :mod:`.csv_import`."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.data.csv_errors import MAX_ERRORS, CsvError, CsvImportError
from openpersonalize.data.schemas import (
    ID_FIELDS,
    INT_RANGES,
    MAX_CATEGORICAL_CHARS,
    MAX_ID_CHARS,
    MAX_TIMESTAMP_SECONDS,
    TIMESTAMP_FIELDS,
    AvroSchema,
    SchemaField,
)

_INTEGER_TEXT = re.compile(r"[+-]?\d+(\.0*)?")
_FLOAT_TEXT = re.compile(r"(?i)[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity|nan)")


class BatchConverter:
    """Text columns → typed columns, collecting errors with their data-row numbers."""

    def __init__(self, schema: AvroSchema, file_name: str) -> None:
        self.fields = schema.fields
        self.arrow_schema = schema.to_arrow_schema()
        self.file_name = file_name

    def convert(self, columns: list[pa.Array], first_row: int) -> pa.RecordBatch:
        found: list[tuple[int, int, CsvError]] = []
        arrays: list[pa.Array] = []
        for order, (f, text) in enumerate(zip(self.fields, columns, strict=True)):
            values, bad = _convert_column(text, f)
            problems: list[tuple[np.ndarray, Callable[[int], str]]] = []
            if bad is not None:
                problems.append((np.flatnonzero(bad), _describe_bad_value(text, f)))
            if not f.nullable and values.null_count > (int(bad.sum()) if bad is not None else 0):
                missing = ~np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
                if bad is not None:
                    missing &= ~bad
                problems.append((np.flatnonzero(missing), _describe_missing))
            for check in _checks_for(f):
                indices, message = check(values)
                if len(indices):
                    problems.append((indices, _describe_value(values, message)))
            for indices, describe in problems:
                for index in indices[:MAX_ERRORS]:
                    row = first_row + int(index)
                    error = CsvError(self.file_name, describe(int(index)), row=row, column=f.name)
                    found.append((row, order, error))
            arrays.append(values)
        if found:
            found.sort(key=lambda e: (e[0], e[1]))
            raise CsvImportError([e for _, _, e in found[:MAX_ERRORS]])
        return pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)


def _describe_missing(index: int) -> str:
    return "empty value in a field that is not nullable"


def _describe_bad_value(text: pa.Array, f: SchemaField) -> Callable[[int], str]:
    return lambda index: _bad_value(text[index].as_py(), f)


def _describe_value(values: pa.Array, describe: Callable[[object], str]) -> Callable[[int], str]:
    return lambda index: describe(values[index].as_py())


def _bad_value(value: object, f: SchemaField) -> str:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    if f.type == "boolean":
        return f"value {shown} is not a boolean; booleans must be lowercase true or false"
    if f.type in ("int", "long"):
        return f"value {shown} is not a whole number that fits the field's type {f.type}"
    return f"value {shown} is not a number (type {f.type})"


def _convert_column(text: pa.Array, f: SchemaField) -> tuple[pa.Array, np.ndarray | None]:
    """(converted values, boolean mask of unconvertible rows or None)."""
    if f.type == "string":
        return text, None
    if f.type == "boolean":
        is_true = pc.equal(text, "true")
        ok = pc.or_(is_true, pc.equal(text, "false"))
        bad = _mask(pc.invert(ok))
        return pc.if_else(ok, is_true, pa.scalar(None, pa.bool_())), bad if bad.any() else None
    if f.type in ("float", "double"):
        return _to_float(text)
    return _to_integer(text, f)


def _mask(condition: pa.Array) -> np.ndarray:
    """A boolean array (nulls = False) as numpy."""
    return np.asarray(pc.fill_null(condition, False).to_numpy(zero_copy_only=False), dtype=bool)


def _to_float(text: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    try:
        return pc.cast(text, pa.float64()), None
    except pa.ArrowInvalid:
        pass
    values: list[float | None] = []
    bad = np.zeros(len(text), dtype=bool)
    for i, raw in enumerate(text.to_pylist()):
        if raw is None:
            values.append(None)
        elif _FLOAT_TEXT.fullmatch(raw.strip()):
            values.append(float(raw.strip()))
        else:
            values.append(None)
            bad[i] = True
    return pa.array(values, pa.float64()), bad


def _to_integer(text: pa.Array, f: SchemaField) -> tuple[pa.Array, np.ndarray | None]:
    target = f.arrow_type
    try:
        return pc.cast(text, target), None
    except pa.ArrowInvalid:
        pass
    # pandas writes integer columns that have gaps as floats: "1234567890.0".
    try:
        as_float = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        as_float = None
    if as_float is not None:
        low, high = INT_RANGES[f.type]
        # Within ±2**53 every float64 integer is exact; larger ones go the slow way.
        ok = pc.and_(
            pc.equal(pc.floor(as_float), as_float),
            pc.and_(
                pc.less_equal(pc.abs(as_float), 2.0**53),
                pc.and_(
                    pc.greater_equal(as_float, float(low)), pc.less_equal(as_float, float(high))
                ),
            ),
        )
        if bool(pc.all(pc.fill_null(ok, True)).as_py()):
            return pc.cast(as_float, target), None
    values: list[int | None] = []
    bad = np.zeros(len(text), dtype=bool)
    low, high = INT_RANGES[f.type]
    for i, raw in enumerate(text.to_pylist()):
        stripped = raw.strip() if raw is not None else None
        if stripped is None:
            values.append(None)
        elif _INTEGER_TEXT.fullmatch(stripped) and low <= int(stripped.split(".")[0]) <= high:
            values.append(int(stripped.split(".")[0]))
        else:
            values.append(None)
            bad[i] = True
    return pa.array(values, target), bad


Check = Callable[[pa.Array], tuple[np.ndarray, Callable[[object], str]]]


def _checks_for(f: SchemaField) -> list[Check]:
    checks: list[Check] = []
    if f.name in ID_FIELDS:
        checks.append(_max_length(MAX_ID_CHARS, "ids"))
    if f.categorical or f.name == "IMPRESSION":
        checks.append(_max_value_length(MAX_CATEGORICAL_CHARS, f.name == "IMPRESSION"))
    if f.name in TIMESTAMP_FIELDS and f.type in ("int", "long"):
        checks.append(_seconds)
    return checks


def _max_length(limit: int, what: str) -> Check:
    def check(values: pa.Array) -> tuple[np.ndarray, Callable[[object], str]]:
        lengths = pc.utf8_length(values)
        if (pc.max(lengths).as_py() or 0) <= limit:
            return np.empty(0, dtype=np.int64), str
        indices = np.flatnonzero(_mask(pc.greater(lengths, limit)))
        return (
            indices,
            lambda v: (
                f"value is {len(str(v)):,} characters long; "
                f"{what} may have at most {limit} characters"
            ),
        )

    return check


def _max_value_length(limit: int, impression: bool) -> Check:
    what = "impression item ids" if impression else "categorical values"

    def check(values: pa.Array) -> tuple[np.ndarray, Callable[[object], str]]:
        if (pc.max(pc.utf8_length(values)).as_py() or 0) <= limit:
            return np.empty(0, dtype=np.int64), str
        parts = pc.split_pattern(values, "|")
        too_long = _mask(pc.greater(pc.utf8_length(pc.list_flatten(parts)), limit))
        parents = np.asarray(pc.list_parent_indices(parts).to_numpy(zero_copy_only=False))
        indices = np.unique(parents[too_long])
        return (
            indices,
            lambda v: (
                f"a value between '|' separators is longer than {limit} characters; "
                f"{what} may have at most {limit} characters each"
            ),
        )

    return check


def _seconds(values: pa.Array) -> tuple[np.ndarray, Callable[[object], str]]:
    if (pc.max(values).as_py() or 0) <= MAX_TIMESTAMP_SECONDS:
        return np.empty(0, dtype=np.int64), str
    indices = np.flatnonzero(_mask(pc.greater(values, MAX_TIMESTAMP_SECONDS)))
    return (
        indices,
        lambda v: (
            f"timestamp {v} is too large: timestamps must be Unix epoch seconds, "
            "not milliseconds (divide by 1000)"
        ),
    )
