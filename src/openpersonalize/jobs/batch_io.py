"""What batch inference and batch segment jobs share: their input files (with AWS's quotas),
streamed JSON lines in, one ``<input file name>.out`` per input file out, and progress.

Input: ``jobInput.s3DataSource.path`` names one object or a folder (local path, ``file://`` or
``s3://``). Each input object ``a/b.json`` becomes the output object ``a/b.json.out`` below
``jobOutput.s3DataDestination.path`` (a single-object input keeps its file name). Lines are read
and written in chunks, never a whole file in memory; an output object appears when its file is
done (atomic write).

Every output line echoes the input line: ``{"input": …, "output": {…}, "error": null}``, or
``{"input": …, "output": null, "error": "<why>"}`` for a line that cannot be answered (the job goes
on with the next line). A line that is not a JSON object is echoed as the string it was.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

from openpersonalize.controlplane.context import Context
from openpersonalize.jobs import runner
from openpersonalize.jobs.sources import input_objects
from openpersonalize.store.objects import ObjectInfo, ObjectStore
from openpersonalize.wire import jsonbytes

CHUNK_BYTES = 1 << 20
PROGRESS_SECONDS = 1.0


class LineError(Exception):
    """A bad input line: the message goes to that line's ``error``."""


@dataclass
class Line:
    """One input line: ``raw`` as echoed in ``input``; ``value`` the parsed object (None when
    the line is not a JSON object, with ``error`` saying why)."""

    raw: Any
    value: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class BatchInput:
    store: ObjectStore
    objects: list[ObjectInfo]
    output: ObjectStore

    def output_key(self, obj: ObjectInfo) -> str:
        name = obj.key or PurePosixPath(obj.url.rstrip("/")).name
        return f"{name}.out"


def open_batch(ctx: Context, body: dict[str, Any]) -> BatchInput:
    """The job's input objects and output location; CREATE FAILED on the quotas (spec §1.17)."""
    input_path = str(body["jobInput"]["s3DataSource"]["path"])
    output_path = str(body["jobOutput"]["s3DataDestination"]["path"])
    if output_path.rstrip("/") == input_path.rstrip("/"):
        raise runner.JobFailed("The output path must be different from the input path.")
    store, objects = input_objects(ctx, input_path)
    if not objects:
        raise runner.JobFailed(f"No input files found at {input_path}.")
    max_files = ctx.config.max_batch_input_files
    if len(objects) > max_files:
        raise runner.JobFailed(
            f"The input at {input_path} has {len(objects)} files; a batch job reads at most "
            f"{max_files}."
        )
    total = sum(o.size for o in objects)
    max_bytes = ctx.config.max_batch_input_bytes
    if total > max_bytes:
        raise runner.JobFailed(
            f"The input at {input_path} is {total} bytes; a batch job reads at most {max_bytes} "
            "bytes."
        )
    return BatchInput(store, objects, ctx.location(output_path))


def _raw_lines(stream: IO[bytes]) -> Iterator[bytes]:
    pending = b""
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        yield from lines
    if pending:
        yield pending


def parse_line(data: bytes) -> Line | None:
    """One input line; None for a blank line (skipped, as JSON-lines readers do)."""
    try:
        value = jsonbytes.loads(data)  # the fast path; the standard library says what is wrong
    except jsonbytes.JSONDecodeError:
        pass
    else:
        # orjson reads integers beyond 64 bits as floats: lines with floats take the slow path.
        if isinstance(value, dict) and not any(type(v) is float for v in value.values()):
            return Line(value, value)
    text = data.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return Line(text, None, f"The line is not valid JSON: {exc.msg} at column {exc.colno}.")
    if not isinstance(value, dict):
        return Line(value, None, "Each line must be a JSON object.")
    return Line(value, value)


def read_lines(stream: IO[bytes], chunk_lines: int) -> Iterator[list[Line]]:
    """The stream's lines, ``chunk_lines`` at a time."""
    chunk: list[Line] = []
    for data in _raw_lines(stream):
        line = parse_line(data)
        if line is None:
            continue
        chunk.append(line)
        if len(chunk) >= chunk_lines:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


Answer = tuple[bytes, bool]  # an output line and whether it is an answer (not an error)


def answer(line: Line, output: dict[str, Any] | None, error: str | None = None) -> Answer:
    record = {"input": line.raw, "output": output if error is None else None, "error": error}
    try:
        data = jsonbytes.dumps(record)
    except TypeError:  # what only the standard library writes (integers beyond 64 bits)
        data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    return data + b"\n", error is None


class Progress:
    """Counts written to the job's resource body at most every :data:`PROGRESS_SECONDS` (the
    Describe call's ``lastUpdatedDateTime`` moves with it)."""

    def __init__(self, ctx: Context, arn: str, total_files: int) -> None:
        self.ctx, self.arn = ctx, arn
        self.total_files = total_files
        self.files_done = 0
        self.records = 0
        self.errors = 0
        self._last = 0.0

    def add(self, records: int, errors: int) -> None:
        self.records += records
        self.errors += errors
        self.save()

    def file_done(self) -> None:
        self.files_done += 1
        self.save(force=True)

    def save(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        self.ctx.store.update(self.arn, body={"progress": self.as_json()})

    def as_json(self) -> dict[str, Any]:
        return {
            "filesProcessed": self.files_done,
            "totalFiles": self.total_files,
            "recordsProcessed": self.records,
            "recordsFailed": self.errors,
            "percentComplete": round(100.0 * self.files_done / max(self.total_files, 1), 1),
        }


ChunkHandler = Callable[[list[Line]], Iterable[Answer]]


def _answered(
    handle: ChunkHandler, chunks: Iterable[list[Line]], threads: int
) -> Iterator[list[Answer]]:
    """Each chunk's answers, in input order. With ``threads`` > 1 the chunks are answered on
    that many threads (the numeric work releases the GIL), a few chunks ahead of the writer."""
    if threads <= 1:
        for chunk in chunks:
            yield list(handle(chunk))
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="batch") as pool:
        pending: deque[Future[list[Answer]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(lambda c: list(handle(c)), chunk))
            if len(pending) > 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def run_files(
    ctx: Context,
    arn: str,
    batch: BatchInput,
    chunk_lines: int,
    handle: ChunkHandler,
    check_file: Callable[[ObjectInfo, list[Line]], None] | None = None,
    threads: int = 1,
) -> Progress:
    """Stream every input file through ``handle`` (one chunk of lines → output lines).

    ``check_file``: when given, the whole file's lines are read first and passed to it (batch
    segment jobs check their per-file query limits before answering any line). ``threads``:
    chunks answered in parallel (``handle`` must then be thread-safe)."""
    progress = Progress(ctx, arn, len(batch.objects))
    progress.save(force=True)
    for obj in batch.objects:
        with batch.store.open_read(obj.key) as stream:
            chunks: Iterable[list[Line]] = read_lines(stream, chunk_lines)
            if check_file is not None:
                every = [line for chunk in chunks for line in chunk]
                check_file(obj, every)
                chunks = [every[i : i + chunk_lines] for i in range(0, len(every), chunk_lines)]
            with batch.output.open_write(batch.output_key(obj)) as out:
                for answers in _answered(handle, chunks, threads):
                    written = 0
                    failed = 0
                    for data, ok in answers:
                        out.write(data)
                        written += 1
                        failed += not ok
                    progress.add(written, failed)
        progress.file_done()
    return progress
