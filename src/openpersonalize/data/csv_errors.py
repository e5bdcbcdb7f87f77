"""Where a CSV import went wrong: the error types, and the pure-Python scan of the file that
locates the structural problems pyarrow reports without a position (a bad column count, an
unterminated quote, invalid UTF-8). The scan runs only after the fast path in ``csv_import`` has
failed; its tokenizer follows the fast reader's dialect and also parses the header row.

Row numbers are 1-based *data rows* (the header is not counted); structural errors also give the
1-based *line* of the file (the header is line 1), which differs from the data row when quoted
values span lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

MAX_ERRORS = 5


@dataclass(frozen=True, slots=True)
class CsvError:
    """One problem in one file, at a data row (1-based, header excluded) and/or a file line."""

    file_name: str
    message: str
    row: int | None = None
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.row is not None and self.line is not None:
            where = f"data row {self.row} (line {self.line})"
        elif self.row is not None:
            where = f"data row {self.row}"
        elif self.line is not None:
            where = f"line {self.line}" + (" (header)" if self.line == 1 else "")
        else:
            where = "whole file"
        column = f", column {self.column}" if self.column else ""
        return f"{self.file_name}: {where}{column}: {self.message}"


class CsvImportError(Exception):
    """An import failed; ``str()`` is the ``failureReason`` of the dataset import job."""

    def __init__(self, errors: list[CsvError]) -> None:
        self.errors = errors[:MAX_ERRORS]
        super().__init__(self.failure_reason)

    @property
    def failure_reason(self) -> str:
        return "; ".join(str(e) for e in self.errors)

    def __str__(self) -> str:
        return self.failure_reason


# --- the CSV dialect -----------------------------------------------------------------------------


def split_fields(text: str) -> tuple[list[str], int | None]:
    """Split one CSV record; returns (fields, index of a field whose quote is still open)."""
    tokenizer = _Tokenizer()
    tokenizer.feed(text)
    fields = [*tokenizer.fields, "".join(tokenizer.buffer)]
    return fields, tokenizer.quote_opened_in if tokenizer.in_quotes else None


class _Tokenizer:
    """The CSV dialect of the fast reader: `"` quotes (at field start), `""` and `\\` escapes."""

    def __init__(self) -> None:
        self.fields: list[str] = []
        self.buffer: list[str] = []
        self.in_quotes = False
        self.at_field_start = True
        self.field_count = 1
        self.quote_opened_in: int | None = None

    def feed(self, text: str) -> None:
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                self.buffer.append(text[i + 1])
                self.at_field_start = False
                i += 2
                continue
            if self.in_quotes:
                if c == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        self.buffer.append('"')
                        i += 2
                        continue
                    self.in_quotes = False
                else:
                    self.buffer.append(c)
            elif c == '"' and self.at_field_start:
                self.in_quotes = True
                self.quote_opened_in = self.field_count - 1
            elif c == ",":
                self.fields.append("".join(self.buffer))
                self.buffer = []
                self.field_count += 1
                self.at_field_start = True
                i += 1
                continue
            else:
                self.buffer.append(c)
            self.at_field_start = False
            i += 1


# --- the structural scan (error path only) -------------------------------------------------------


def structural_error(
    reopen: Callable[[], pa.NativeFile] | None,
    name: str,
    header: list[str],
    first_row: int,
    cause: pa.ArrowInvalid,
) -> CsvImportError:
    """The error for a ``cause`` that pyarrow reports without a position: the problems a rescan
    of the file finds, with their rows, lines and columns; without a rescan (``reopen`` is None
    for a stream that cannot be read again) or when it finds nothing, ``cause`` at ``first_row``,
    the first data row of the batch that failed."""
    errors: list[CsvError] = []
    if reopen is not None:
        stream = reopen()
        try:
            errors = _scan_structure(stream, name, header)
        finally:
            stream.close()
    if not errors:
        message = str(cause).replace("\n", " ")
        errors = [
            CsvError(
                name, f"could not parse the file at or after this row: {message}", row=first_row
            )
        ]
    return CsvImportError(errors)


def _scan_structure(stream: pa.NativeFile, name: str, header: list[str]) -> list[CsvError]:
    """Find bad column counts, invalid UTF-8 and unterminated quotes, with their lines and rows."""
    errors: list[CsvError] = []
    n_columns = len(header)
    lines = _iter_lines(stream)
    next(lines, None)  # the header (already validated, including any quoted line breaks)
    line_no, row = 1, 0
    record_line = 0
    tokenizer: _Tokenizer | None = None
    for raw in lines:
        line_no += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = raw[: exc.start].decode("utf-8", "replace")
            column_index = before.count(",")
            errors.append(
                CsvError(
                    name,
                    f"invalid UTF-8 byte 0x{raw[exc.start]:02x}; files must be UTF-8 encoded",
                    row=row + (0 if tokenizer else 1),
                    line=line_no,
                    column=_column_name(header, column_index),
                )
            )
            text = raw.decode("utf-8", "replace")
        if tokenizer is None:
            body = text.rstrip("\r\n")
            if not body:
                continue  # blank lines are skipped, as the fast reader does
            row += 1
            record_line = line_no
            if '"' not in body and "\\" not in body:
                count = body.count(",") + 1
                if count != n_columns:
                    errors.append(_count_error(name, row, line_no, header, count))
                if len(errors) >= MAX_ERRORS:
                    break
                continue
            tokenizer = _Tokenizer()
            tokenizer.feed(body)
        else:
            tokenizer.feed(text.rstrip("\r\n") if not tokenizer.in_quotes else text)
        if tokenizer.in_quotes:
            tokenizer.buffer.append("\n")
            continue
        if tokenizer.field_count != n_columns:
            errors.append(_count_error(name, row, record_line, header, tokenizer.field_count))
        tokenizer = None
        if len(errors) >= MAX_ERRORS:
            break
    if tokenizer is not None and tokenizer.in_quotes and len(errors) < MAX_ERRORS:
        errors.append(
            CsvError(
                name,
                "unterminated quote: a quoted value opened here is never closed",
                row=row,
                line=record_line,
                column=_column_name(header, tokenizer.quote_opened_in or 0),
            )
        )
    return errors[:MAX_ERRORS]


def _iter_lines(stream: pa.NativeFile) -> Iterator[bytes]:
    pending = b""
    while True:
        chunk = bytes(stream.read(1 << 20))
        if not chunk:
            break
        pending += chunk
        parts = pending.split(b"\n")
        pending = parts.pop()
        for part in parts:
            yield part + b"\n"
    if pending:
        yield pending


def _column_name(header: list[str], index: int) -> str:
    if index < len(header):
        return header[index] or f"#{index + 1} (unnamed)"
    return f"#{index + 1} (beyond the header)"


def _count_error(name: str, row: int, line: int, header: list[str], count: int) -> CsvError:
    if count < len(header):
        column = _column_name(header, count)
        problem = f"expected {len(header)} columns as in the header, found {count}"
    else:
        column = _column_name(header, len(header))
        problem = f"expected {len(header)} columns as in the header, found {count} (extra values)"
    return CsvError(name, problem, row=row, line=line, column=column)
