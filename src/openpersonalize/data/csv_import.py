"""Bulk-import CSV files into Arrow record batches that match a Personalize schema.

The fast path is pyarrow's multi-threaded streaming CSV reader with every schema column read as
text, followed by vectorised conversion and checks per batch, so a conversion error still knows its
row. Structural problems that pyarrow reports without a position (a bad column count, an
unterminated quote, invalid UTF-8) are located by a second, pure-Python scan of the file
(``csv_errors``) that runs only when the fast path has failed.

Row numbers in errors are 1-based *data rows* (the header is not counted).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from openpersonalize.data.csv_errors import (
    MAX_ERRORS,
    CsvError,
    CsvImportError,
    split_fields,
    structural_error,
)
from openpersonalize.data.schemas import ID_FIELDS, TIMESTAMP_FIELDS, AvroSchema, SchemaField

__all__ = [
    "BLOCK_SIZE",
    "MAX_CATEGORICAL_CHARS",
    "MAX_ERRORS",
    "MAX_ID_CHARS",
    "MAX_TIMESTAMP_SECONDS",
    "CsvError",
    "CsvImportError",
    "CsvSource",
    "import_csv",
    "iter_csv_batches",
]

CsvSource: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO"

MAX_ID_CHARS = 256
MAX_CATEGORICAL_CHARS = 1000
# Epoch seconds reach 1e11 in the year 5138; anything larger is milliseconds (or worse).
MAX_TIMESTAMP_SECONDS = 100_000_000_000
# 4 MiB blocks measured fastest on 2 cores (1 MiB: parser overhead; 16+ MiB: less overlap).
BLOCK_SIZE = 4 << 20
_MAX_HEADER_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"

_INTEGER_TEXT = re.compile(r"[+-]?\d+(\.0*)?")
_FLOAT_TEXT = re.compile(r"(?i)[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity|nan)")
_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


# --- public API ----------------------------------------------------------------------------------


def import_csv(source: CsvSource, schema: AvroSchema, *, file_name: str | None = None) -> pa.Table:
    """Read a whole CSV (plain or gzip) into a table with exactly ``schema``'s columns and types."""
    arrow_schema = schema.to_arrow_schema()
    batches = list(iter_csv_batches(source, schema, file_name=file_name))
    return pa.Table.from_batches(batches, schema=arrow_schema)


def iter_csv_batches(
    source: CsvSource,
    schema: AvroSchema,
    *,
    file_name: str | None = None,
    block_size: int = BLOCK_SIZE,
) -> Iterator[pa.RecordBatch]:
    """Stream converted record batches (``schema.to_arrow_schema()``) of a CSV file.

    Raises ``CsvImportError`` at the first batch that holds an error, after the batches before it
    were yielded, so a consumer writing segments must discard them on failure.
    """
    opener = _Opener(source)
    name = file_name or opener.default_name
    reopen = opener.open if opener.reopenable else None
    stream = opener.open()
    try:
        header, rest = _read_header(stream, name)
        positions = _match_columns(header, schema, name)
        converter = _BatchConverter(schema, name)
        column_names = [f"c{i}" for i in range(len(header))]
        first_row = 1
        try:
            reader = _open_reader(rest, column_names, positions, block_size)
        except pa.ArrowInvalid as exc:
            raise structural_error(reopen, name, header, first_row, exc) from None
        if reader is None:
            return
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise structural_error(reopen, name, header, first_row, exc) from None
            columns = [batch.column(column_names[positions[f.name]]) for f in schema.fields]
            yield converter.convert(columns, first_row)
            first_row += batch.num_rows
    finally:
        stream.close()


# --- opening sources -----------------------------------------------------------------------------


class _Opener:
    """Opens the source as a (decompressed) binary stream, again when a rescan is needed."""

    def __init__(self, source: CsvSource) -> None:
        self.source = source
        self.default_name = "<input>"
        self._start: int | None = None
        if isinstance(source, str | os.PathLike):
            self.default_name = Path(source).name
        elif isinstance(source, bytes | bytearray | memoryview):
            pass
        else:
            self.default_name = Path(str(getattr(source, "name", "<input>"))).name
            if _seekable(source):
                self._start = source.tell()

    @property
    def reopenable(self) -> bool:
        return not self._is_file_object() or self._start is not None

    def _is_file_object(self) -> bool:
        return not isinstance(self.source, str | os.PathLike | bytes | bytearray | memoryview)

    def open(self) -> pa.NativeFile:
        source = self.source
        raw: pa.NativeFile
        seekable = True
        if isinstance(source, str | os.PathLike):
            raw = pa.OSFile(os.fspath(source), mode="r")
        elif isinstance(source, bytes | bytearray | memoryview):
            raw = pa.BufferReader(pa.py_buffer(source))
        else:
            if self._start is not None:
                source.seek(self._start)
            raw = pa.PythonFile(source, mode="r")
            seekable = self._start is not None
        if seekable:
            start = raw.tell()
            magic = bytes(raw.read(2))
            raw.seek(start)
        else:
            # Read the magic bytes, then hand them back in front of the rest of the stream.
            magic = bytes(raw.read(2))
            raw = pa.PythonFile(_Rest(magic, raw), mode="r")
        if magic.startswith(_GZIP_MAGIC):
            return pa.CompressedInputStream(raw, "gzip")
        return raw


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError, OSError):
        return False


class _Rest(io.RawIOBase):
    """The bytes after the header: what was over-read while finding it, then the stream."""

    def __init__(self, prefix: bytes, stream: pa.NativeFile) -> None:
        super().__init__()
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0:
                data = self._prefix + bytes(self._stream.read())
                self._prefix = b""
                return data
            data = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return data
        if size is None or size < 0:
            return bytes(self._stream.read())
        return bytes(self._stream.read(size))

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --- header --------------------------------------------------------------------------------------


def _read_header(stream: pa.NativeFile, name: str) -> tuple[list[str], _Rest]:
    """Parse the header row; returns (column names, the rest of the stream)."""
    data = b""
    while True:
        chunk = bytes(stream.read(1 << 16))
        if not chunk:
            break
        data += chunk
        if _header_end(data) is not None:
            break
        if len(data) > _MAX_HEADER_BYTES:
            raise CsvImportError(
                [
                    CsvError(
                        name, f"the header row is longer than {_MAX_HEADER_BYTES:,} bytes", line=1
                    )
                ]
            )
    end = _header_end(data)
    if end is None:
        end = len(data)
    header_bytes = data[:end].rstrip(b"\r\n")
    if not data.strip():
        raise CsvImportError(
            [
                CsvError(
                    name, "the file is empty; a header row naming the columns is required", line=1
                )
            ]
        )
    if header_bytes.startswith(b"\xef\xbb\xbf"):
        header_bytes = header_bytes[3:]
    try:
        text = header_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            [CsvError(name, f"the header row is not valid UTF-8 ({exc.reason})", line=1)]
        ) from None
    fields, open_field = split_fields(text)
    if open_field is not None:
        raise CsvImportError([CsvError(name, "the header row has an unterminated quote", line=1)])
    if "\n" in text:
        raise CsvImportError([CsvError(name, "column names cannot contain line breaks", line=1)])
    return [f.strip() for f in fields], _Rest(data[end:], stream)


def _header_end(data: bytes) -> int | None:
    """Byte offset just past the header's line break, or None if the header is still open."""
    start = 0
    while True:
        newline = data.find(b"\n", start)
        if newline < 0:
            return None
        if split_fields(data[:newline].decode("utf-8", "replace"))[1] is None:
            return newline + 1
        start = newline + 1


def _match_columns(header: list[str], schema: AvroSchema, name: str) -> dict[str, int]:
    """Schema field name → header position. Names match exactly, else case-insensitively."""
    positions: dict[str, int] = {}
    missing: list[str] = []
    errors: list[CsvError] = []
    for f in schema.fields:
        exact = [i for i, h in enumerate(header) if h == f.name]
        folded = [i for i, h in enumerate(header) if h.lower() == f.name.lower()]
        if len(folded) > 1:
            where = " and ".join(f"#{i + 1} ({header[i]!r})" for i in folded)
            errors.append(
                CsvError(
                    name,
                    f"duplicated header: the column appears more than once (columns {where})",
                    line=1,
                    column=f.name,
                )
            )
        elif exact or folded:
            positions[f.name] = (exact or folded)[0]
        else:
            missing.append(f.name)
    if missing:
        errors.insert(
            0,
            CsvError(
                name,
                f"Input CSV is missing the following columns: [{', '.join(missing)}]",
                line=1,
                column=", ".join(missing),
            ),
        )
    if errors:
        raise CsvImportError(errors)
    return positions


# --- the fast reader -----------------------------------------------------------------------------


def _open_reader(
    rest: _Rest, column_names: list[str], positions: dict[str, int], block_size: int
) -> pacsv.CSVStreamingReader | None:
    """pyarrow's streaming reader over the data rows, or None when there are none."""
    included = sorted(set(positions.values()))
    read_options = pacsv.ReadOptions(
        column_names=column_names, block_size=block_size, use_threads=True
    )
    # AWS: textual values are double-quoted, with `""` or `\` escaping quotes; quoted values may
    # span lines.
    parse_options = pacsv.ParseOptions(
        quote_char='"', double_quote=True, escape_char="\\", newlines_in_values=True
    )
    convert_options = pacsv.ConvertOptions(
        include_columns=[column_names[i] for i in included],
        column_types={column_names[i]: pa.string() for i in included},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        return pacsv.open_csv(
            rest,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return None
        raise


# --- conversion ----------------------------------------------------------------------------------


class _BatchConverter:
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
        low, high = _INT_RANGES[f.type]
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
    low, high = _INT_RANGES[f.type]
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
