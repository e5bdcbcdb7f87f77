"""Bulk-import CSV files into Arrow record batches that match a Personalize schema.

The fast path is pyarrow's multi-threaded streaming CSV reader with every schema column read as
text, followed by vectorised conversion and checks per batch (:mod:`.csv_convert`), so a
conversion error still knows its row. Structural problems that pyarrow reports without a
position (a bad column count, an unterminated quote, invalid UTF-8) are located by a second,
pure-Python scan of the file (:mod:`.csv_errors`) that runs only when the fast path has failed.

Row numbers in errors are 1-based *data rows* (the header is not counted).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TypeAlias

import pyarrow as pa
import pyarrow.csv as pacsv

from openpersonalize.data.csv_convert import BatchConverter
from openpersonalize.data.csv_errors import (
    MAX_ERRORS,
    CsvError,
    CsvImportError,
    split_fields,
    structural_error,
)
from openpersonalize.data.schemas import (
    MAX_CATEGORICAL_CHARS,
    MAX_ID_CHARS,
    MAX_TIMESTAMP_SECONDS,
    AvroSchema,
)

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

# 4 MiB blocks measured fastest on 2 cores (1 MiB: parser overhead; 16+ MiB: less overlap).
BLOCK_SIZE = 4 << 20
_MAX_HEADER_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


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
        converter = BatchConverter(schema, name)
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
