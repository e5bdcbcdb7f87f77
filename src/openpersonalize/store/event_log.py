"""The real-time log of Put* records: append-only, fsync'ed, compacted into Parquet segments.

One log per dataset, in a folder of the data directory::

    <root>/<dataset id, %-encoded>/log.json                     identity and configuration
    <root>/<dataset id, %-encoded>/wal-<base offset:016d>.log   frames, rotated by size
    <root>/<dataset id, %-encoded>/lock                         held (flock) by the owning process

A frame is ``<u32 payload length><u32 crc32(payload)><payload>``, the payload being the JSON array
of one accepted batch. An append returns only after its frame is written and fsync'ed, so a 200
answer means the batch survives ``kill -9``; a batch is one frame, so it is all there or not at all.
On open a torn or corrupt last frame is dropped and the file trimmed back to the last good frame.

Concurrent appends share fsyncs (group commit): each caller queues its frame under a lock and a
flusher thread (one per open log) writes every frame queued while the previous fsync ran with one
``write`` and one ``fsync``, then settles their callers. Throughput then grows with concurrency
instead of being capped at one fsync per request. Callers wait either on a condition
(:meth:`DatasetLog.append`) or, on an event loop, on a future the flusher resolves
(:meth:`DatasetLog.append_async`), so the loop never blocks on an fsync.

Offsets are logical byte positions across the rotated files. Compaction turns frames
``[checkpoint, end)`` into one PUT segment of the record store and commits the new checkpoint in the
same manifest switch, so a crash at any point neither loses nor duplicates records.

The log also keeps, in memory, the set of seen ``eventId`` s (later duplicates are dropped) and each
user's newest interactions per event type, rebuilt on open from the compacted PUT segments and the
uncompacted frames.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from openpersonalize.store.records import CheckpointMismatch, LogCheckpoint, RecordStore
from openpersonalize.wire import jsonbytes

DatasetKind = Literal["INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS"]
Record = dict[str, Any]
ToTable = Callable[[Sequence[Record]], pa.Table]

_HEADER = struct.Struct("<II")
_MAX_FRAME = 64 * 1024 * 1024
_COMPACT_CHUNK_RECORDS = 200_000
ABSENT_TTL = 1.0  # seconds a missing log folder is not looked for again (EventLog.on_disk)

_UPSERT_KEYS: dict[str, str | None] = {
    "INTERACTIONS": None,
    "ACTION_INTERACTIONS": None,
    "ITEMS": "ITEM_ID",
    "USERS": "USER_ID",
    "ACTIONS": "ACTION_ID",
}


class LogInUseError(RuntimeError):
    """Another process owns this dataset's log."""


@dataclass(frozen=True)
class LogConfig:
    """What a dataset's records look like: column names are the dataset schema's field names."""

    kind: DatasetKind = "INTERACTIONS"
    user_column: str = "USER_ID"
    session_column: str = "SESSION_ID"
    item_column: str = "ITEM_ID"  # ACTION_ID for action interactions
    event_type_column: str = "EVENT_TYPE"
    timestamp_column: str = "TIMESTAMP"
    event_value_column: str = "EVENT_VALUE"
    event_id_column: str = "EVENT_ID"
    history_limit: int = 100  # newest interactions kept per user and event type

    @classmethod
    def for_kind(cls, kind: DatasetKind) -> LogConfig:
        if kind == "ACTION_INTERACTIONS":
            return cls(kind=kind, item_column="ACTION_ID")
        return cls(kind=kind)

    @property
    def upsert_key(self) -> str | None:
        return _UPSERT_KEYS[self.kind]

    @property
    def is_interactions(self) -> bool:
        return self.kind in ("INTERACTIONS", "ACTION_INTERACTIONS")


class RecentInteraction(NamedTuple):
    """One remembered interaction (a named tuple: one is built per event on the hot path)."""

    item_id: str | None  # the action id for action interactions
    event_type: str
    timestamp: float  # epoch seconds
    event_value: float | None
    event_id: str | None


@dataclass(frozen=True, slots=True)
class AppendResult:
    accepted: int
    duplicates: int  # dropped because their eventId was seen before


def _id_hash(event_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "little")


class _SeenIds:
    """A compact set of 64-bit hashes of event ids: a sorted array plus a small recent set."""

    def __init__(self) -> None:
        self._frozen: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()

    def __len__(self) -> int:
        return len(self._frozen) + len(self._recent)

    def __contains__(self, h: int) -> bool:
        if h in self._recent:
            return True
        i = int(np.searchsorted(self._frozen, np.uint64(h)))
        return i < len(self._frozen) and int(self._frozen[i]) == h

    def add(self, h: int) -> None:
        self._recent.add(h)
        if len(self._recent) >= 65_536:
            self._freeze()

    def discard(self, h: int) -> None:
        self._recent.discard(h)

    def update_many(self, hashes: npt.NDArray[np.uint64]) -> None:
        self._frozen = np.union1d(self._frozen, hashes.astype(np.uint64))

    def _freeze(self) -> None:
        fresh = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
        self._frozen = np.union1d(self._frozen, fresh)
        self._recent.clear()


def _encode_frame(records: Sequence[Record]) -> bytes:
    payload = jsonbytes.dumps(records)  # compact UTF-8, as json.dumps(ensure_ascii=False) wrote
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def _scan_frames(stream: BinaryIO) -> Iterator[tuple[int, int, list[Record]]]:
    """(start, end, records) of each intact frame from the stream's position; stops at the first
    torn or corrupt frame."""
    position = stream.tell()
    while True:
        header = stream.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        length, crc = _HEADER.unpack(header)
        if length > _MAX_FRAME:
            return
        payload = stream.read(length)
        if len(payload) < length or zlib.crc32(payload) != crc:
            return
        try:
            records = json.loads(payload)
        except ValueError:
            return
        end = position + _HEADER.size + length
        yield position, end, records
        position = end


def records_to_table(records: Sequence[Record]) -> pa.Table:
    """The default record → table conversion: the union of the keys as columns, types inferred.
    Callers that know the dataset schema should pass a typed conversion instead."""
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    return pa.table({c: pa.array([r.get(c) for r in records]) for c in columns})


class _Waiter:
    """One append's place in the flush queue, settled by the flusher thread: ``done`` (and
    ``error`` on failure) set under the log's lock; an async caller's ``future`` resolved on its
    event loop."""

    __slots__ = ("done", "error", "future")

    def __init__(self, future: asyncio.Future[None] | None = None) -> None:
        self.done = False
        self.error: BaseException | None = None
        self.future = future


# (waiter, encoded frame — empty when every record was a duplicate, records, their id hashes)
_Queued = tuple[_Waiter, bytes, list[Record], list[int]]


def _settle_all(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    """Runs on the futures' event loop: one call per flushed group, not one per caller."""
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class DatasetLog:
    """The log of one dataset. Thread-safe; one process owns it at a time."""

    def __init__(
        self,
        folder: Path,
        dataset_id: str,
        records: RecordStore,
        config: LogConfig | None = None,
        *,
        to_table: ToTable | None = None,
        rotate_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.folder = folder
        self.dataset_id = dataset_id
        self.records = records
        self.rotate_bytes = rotate_bytes
        self._to_table = to_table or records_to_table
        folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise LogInUseError(
                f"the event log of {dataset_id} is open in another process"
            ) from None
        self.config, self.log_id = self._load_identity(config)
        self.checkpoint_name = f"event-log:{self.log_id}"

        self._lock = threading.Lock()
        self._flushed = threading.Condition(self._lock)  # a group was settled
        self._wakeup = threading.Condition(self._lock)  # the flusher has work (or must stop)
        self._compact_lock = threading.Lock()
        self._pending: list[_Queued] = []
        self._flusher: threading.Thread | None = None
        self._closing = False
        self._event_id_prefix = os.urandom(8).hex()
        self._event_ids = itertools.count()
        self._arrival = itertools.count()
        self._seen = _SeenIds()
        self._history: dict[str, dict[str, list[tuple[float, int, RecentInteraction]]]] = {}
        self._fd = -1
        self._closed = False
        self._recover()

    # -- opening ----------------------------------------------------------------------------

    def _load_identity(self, config: LogConfig | None) -> tuple[LogConfig, str]:
        path = self.folder / "log.json"
        if path.exists():
            doc = json.loads(path.read_text())
            stored = LogConfig(**doc["config"])
            return config or stored, str(doc["logId"])
        config = config or LogConfig()
        doc = {"logId": uuid.uuid4().hex, "datasetId": self.dataset_id, "config": asdict(config)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        with tmp.open("rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, path)
        return config, str(doc["logId"])

    def _wal_files(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.folder.glob("wal-*.log"):
            with contextlib.suppress(ValueError):
                found.append((int(path.stem[4:]), path))
        return sorted(found)

    def _recover(self) -> None:
        checkpoint = self.records.checkpoint(self.dataset_id, self.checkpoint_name)
        files = self._wal_files()
        if not files:
            files = [(checkpoint, self.folder / f"wal-{checkpoint:016d}.log")]
            files[0][1].touch()
        # Trim a torn tail of the active (last) file: everything after the last intact frame.
        base, active = files[-1]
        good_end = 0
        with active.open("rb") as stream:
            for _start, end, _records in _scan_frames(stream):
                good_end = end
        if active.stat().st_size != good_end:
            os.truncate(active, good_end)
        self._fd = os.open(active, os.O_WRONLY | os.O_APPEND)
        os.fsync(self._fd)
        self._active_base = base
        self._end = base + good_end
        self._drop_compacted_files(checkpoint)

        if self.config.is_interactions:
            self._load_compacted_history()
        for _start, _end, batch in self._frames(checkpoint, self._end):
            for record in batch:
                self._remember(record)

    def _load_compacted_history(self) -> None:
        c = self.config
        wanted = [
            c.user_column,
            c.session_column,
            c.item_column,
            c.event_type_column,
            c.timestamp_column,
            c.event_value_column,
            c.event_id_column,
        ]
        table = self.records.read(self.dataset_id, wanted, source="PUT")
        if table.num_rows == 0:
            return
        event_ids = [e for e in table[c.event_id_column].to_pylist() if e is not None]
        self._seen.update_many(np.array([_id_hash(str(e)) for e in event_ids], dtype=np.uint64))
        for record in table.to_pylist():
            self._index(record)

    # -- the history index and dedupe -------------------------------------------------------

    def _remember(self, record: Record) -> None:
        event_id = record.get(self.config.event_id_column)
        if event_id is not None:
            self._seen.add(_id_hash(str(event_id)))
        if self.config.is_interactions:
            self._index(record)

    def _index(self, record: Mapping[str, Any]) -> None:
        c = self.config
        user = record.get(c.user_column) or record.get(c.session_column)
        event_type = record.get(c.event_type_column)
        if user is None or event_type is None:
            return
        timestamp = record.get(c.timestamp_column)
        value = record.get(c.event_value_column)
        item = record.get(c.item_column)
        event_id = record.get(c.event_id_column)
        entry = RecentInteraction(
            item_id=None if item is None else str(item),
            event_type=str(event_type),
            timestamp=float(timestamp) if timestamp is not None else 0.0,
            event_value=None if value is None else float(value),
            event_id=None if event_id is None else str(event_id),
        )
        per_type = self._history.setdefault(str(user), {}).setdefault(entry.event_type, [])
        key = (entry.timestamp, next(self._arrival), entry)
        if not per_type or per_type[-1] < key:
            per_type.append(key)  # the usual case: events arrive in time order
        else:
            bisect.insort(per_type, key)
        if len(per_type) > c.history_limit:
            del per_type[0]

    def recent_interactions(
        self, user_id: str, limit_per_event_type: int = 100
    ) -> list[RecentInteraction]:
        """The user's newest interactions (at most ``limit_per_event_type`` of each event type,
        and at most the configured ``history_limit``), oldest first, including every event
        whose append has returned. Anonymous events are found under their session id."""
        with self._lock:
            per_user = self._history.get(user_id)
            if not per_user:
                return []
            chosen = [e for entries in per_user.values() for e in entries[-limit_per_event_type:]]
        chosen.sort(key=lambda e: (e[0], e[1]))
        return [e[2] for e in chosen]

    # -- appending --------------------------------------------------------------------------

    def submit(
        self,
        records: Iterable[Record],
        future: asyncio.Future[None] | None = None,
    ) -> tuple[AppendResult, _Waiter]:
        """Queue one batch (one frame) for the flusher and return at once. Records whose eventId
        was seen before are dropped; interactions without an eventId get one. The batch is
        durable when the waiter is done without error; ``future`` (if given) is then resolved
        on its event loop. A batch of duplicates only is settled with the next flush, so it is
        never acknowledged before the earlier copy is durable."""
        c = self.config
        with self._lock:
            if self._closed or self._closing:
                raise RuntimeError(f"the event log of {self.dataset_id} is closed")
            accepted: list[Record] = []
            duplicates = 0
            added: list[int] = []
            for record in records:
                event_id = record.get(c.event_id_column)
                if event_id is None and c.is_interactions:
                    record = {**record, c.event_id_column: self._new_event_id()}
                elif event_id is not None:
                    h = _id_hash(str(event_id))
                    if h in self._seen:
                        duplicates += 1
                        continue
                    self._seen.add(h)
                    added.append(h)
                accepted.append(record)
            waiter = _Waiter(future)
            frame = _encode_frame(accepted) if accepted else b""
            self._pending.append((waiter, frame, accepted, added))
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._run_flusher, name="event-log-flusher", daemon=True
                )
                self._flusher.start()
            self._wakeup.notify()
        return AppendResult(accepted=len(accepted), duplicates=duplicates), waiter

    def _new_event_id(self) -> str:
        """32 hex digits, like ``uuid4().hex``: 64 random bits drawn when the log opens, then a
        counter. Unique without an ``os.urandom`` call per event (a tenth of PutEvents' CPU)."""
        return f"{self._event_id_prefix}{next(self._event_ids):016x}"

    def append(self, records: Iterable[Record]) -> AppendResult:
        """Append one batch durably (one frame); returns once the batch is fsync'ed."""
        result, waiter = self.submit(records)
        with self._lock:
            while not waiter.done:
                self._flushed.wait()
        if waiter.error is not None:
            raise waiter.error
        return result

    async def append_async(self, records: Iterable[Record]) -> AppendResult:
        """:meth:`append` for an event loop: the batch is queued on the loop's thread and the
        coroutine resumes when the flusher thread has fsync'ed it, without blocking the loop."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        result, _waiter = self.submit(records, future)
        await future
        return result

    def _run_flusher(self) -> None:
        """Group commit: every batch queued while the previous fsync ran goes out in one write
        and one fsync, so throughput grows with concurrency."""
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._wakeup.wait()
                if not self._pending:
                    return  # closing, and everything queued is settled
                group, self._pending = self._pending, []
            self._flush(group)

    def _flush(self, group: list[_Queued]) -> None:
        """Flusher only: write and fsync the group, publish it, then settle its waiters."""
        data = b"".join(frame for _w, frame, _r, _h in group)
        error: BaseException | None = None
        if data:
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._fd, data[written:])
                os.fdatasync(self._fd)
            except BaseException as exc:
                error = exc
                # Leave no half-written group behind for the next flush to append after.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._end - self._active_base)
        with self._lock:
            if error is None:
                self._end += len(data)
                if self.config.is_interactions:
                    for _waiter, _frame, batch, _hashes in group:
                        for record in batch:
                            self._index(record)
                if self._end - self._active_base >= self.rotate_bytes:
                    self._rotate()
            else:
                for _waiter, _frame, _batch, hashes in group:
                    for h in hashes:
                        self._seen.discard(h)
            for waiter, _frame, _batch, _hashes in group:
                waiter.error = error
                waiter.done = True
            self._flushed.notify_all()
        # One wake-up per event loop: each call_soon_threadsafe is a syscall, and every syscall
        # here is a GIL hand-over with the busy loop thread.
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for waiter, _frame, _batch, _hashes in group:
            if waiter.future is not None:
                by_loop.setdefault(waiter.future.get_loop(), []).append(waiter.future)
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle_all, futures, error)

    def _rotate(self) -> None:
        path = self.folder / f"wal-{self._end:016d}.log"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        os.close(self._fd)
        self._fd = fd
        self._active_base = self._end

    # -- compaction -------------------------------------------------------------------------

    def _frames(self, start: int, end: int) -> Iterator[tuple[int, int, list[Record]]]:
        """Frames with logical offsets in ``[start, end)``."""
        files = self._wal_files()
        for i, (base, path) in enumerate(files):
            next_base = files[i + 1][0] if i + 1 < len(files) else None
            if (next_base is not None and next_base <= start) or base >= end:
                continue
            with path.open("rb") as stream:
                stream.seek(max(0, start - base))
                for frame_start, frame_end, batch in _scan_frames(stream):
                    if base + frame_end > end:
                        break
                    yield base + frame_start, base + frame_end, batch

    def _drop_compacted_files(self, checkpoint: int) -> None:
        files = self._wal_files()
        for i, (base, path) in enumerate(files[:-1]):
            if files[i + 1][0] <= checkpoint and base != self._active_base:
                path.unlink(missing_ok=True)

    def compact(self) -> int:
        """Move the durable, uncompacted frames into PUT segments of the record store. Safe to
        call from a background thread while appends continue. Returns the records moved."""
        moved = 0
        with self._compact_lock:
            with self._lock:
                end = self._end
            start = self.records.checkpoint(self.dataset_id, self.checkpoint_name)
            while start < end:
                chunk: list[Record] = []
                chunk_end = start
                for _s, frame_end, batch in self._frames(start, end):
                    chunk.extend(batch)
                    chunk_end = frame_end
                    if len(chunk) >= _COMPACT_CHUNK_RECORDS:
                        break
                if chunk_end == start:
                    break
                try:
                    self.records.append(
                        self.dataset_id,
                        self._to_table(chunk),
                        self.config.upsert_key,
                        source="PUT",
                        checkpoint=LogCheckpoint(self.checkpoint_name, start, chunk_end),
                    )
                except CheckpointMismatch:
                    break  # someone else compacted this range; their checkpoint stands
                moved += len(chunk)
                start = chunk_end
            self._drop_compacted_files(start)
        return moved

    def delete_users(self, user_ids: Iterable[str]) -> int:
        """Compact, then remove the users' records from every segment and from the recent
        history. Returns the records removed from the record store."""
        users = set(user_ids)
        self.compact()
        removed = self.records.delete_users(
            self.dataset_id, users, user_column=self.config.user_column
        )
        with self._lock:
            for user in users:
                self._history.pop(user, None)
        return removed

    def pending_records(self) -> int:
        """Uncompacted frames' records (a scan: for tests and metrics, not the hot path)."""
        start = self.records.checkpoint(self.dataset_id, self.checkpoint_name)
        with self._lock:
            end = self._end
        return sum(len(batch) for _s, _e, batch in self._frames(start, end))

    def close(self) -> None:
        """Flush what is queued, then release the files and the lock."""
        with self._lock:
            if self._closed:
                return
            self._closing = True
            self._wakeup.notify()
            flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._fd)
            os.close(self._lock_fd)  # releases the flock


class EventLog:
    """The logs of every dataset under one folder, plus an optional background compactor."""

    def __init__(
        self, root: str | os.PathLike[str], records: RecordStore, *, rotate_bytes: int = 64 << 20
    ) -> None:
        self.root = Path(root)
        self.records = records
        self.rotate_bytes = rotate_bytes
        self._logs: dict[str, DatasetLog] = {}
        self._absent: dict[str, float] = {}  # dataset id -> when its folder was found missing
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._compactor: threading.Thread | None = None

    def _folder(self, dataset_id: str) -> Path:
        return self.root / quote(dataset_id, safe="-_.")

    def open(
        self, dataset_id: str, config: LogConfig | None = None, *, to_table: ToTable | None = None
    ) -> DatasetLog:
        """The dataset's log, opened (and recovered) on first use. ``config`` is stored on the
        first open and read back later; ``to_table`` turns records into the dataset's typed
        columns when compacting."""
        with self._guard:
            log = self._logs.get(dataset_id)
            if log is None:
                log = DatasetLog(
                    self._folder(dataset_id),
                    dataset_id,
                    self.records,
                    config,
                    to_table=to_table,
                    rotate_bytes=self.rotate_bytes,
                )
                self._logs[dataset_id] = log
            return log

    def opened(self, dataset_id: str) -> DatasetLog | None:
        """The dataset's log if this process has opened it already (never opens: no I/O)."""
        with self._guard:
            return self._logs.get(dataset_id)

    def on_disk(self, dataset_id: str) -> bool:
        """Whether the dataset has a log folder (written by this process or an earlier one).
        A folder found missing is not looked for again for :data:`ABSENT_TTL` seconds (serving
        asks on every request); opening the log in this process ends that at once."""
        if dataset_id in self._logs:
            return True
        now = time.monotonic()
        checked = self._absent.get(dataset_id)
        if checked is not None and now - checked < ABSENT_TTL:
            return False
        if self._folder(dataset_id).is_dir():
            self._absent.pop(dataset_id, None)
            return True
        self._absent[dataset_id] = now
        return False

    def append(self, dataset_id: str, records: Iterable[Record]) -> AppendResult:
        return self.open(dataset_id).append(records)

    def dataset_ids(self) -> list[str]:
        """The datasets whose logs are open in this process."""
        with self._guard:
            return list(self._logs)

    def recent_interactions(
        self, dataset_id: str, user_id: str, limit_per_event_type: int = 100
    ) -> list[RecentInteraction]:
        return self.open(dataset_id).recent_interactions(user_id, limit_per_event_type)

    def compact(self, dataset_id: str) -> int:
        return self.open(dataset_id).compact()

    def compact_all(self) -> int:
        with self._guard:
            logs = list(self._logs.values())
        return sum(log.compact() for log in logs)

    def delete_users(self, dataset_id: str, user_ids: Iterable[str]) -> int:
        return self.open(dataset_id).delete_users(user_ids)

    def drop(self, dataset_id: str) -> None:
        """Forget the dataset's log (its compacted records stay in the record store)."""
        import shutil

        with self._guard:
            log = self._logs.pop(dataset_id, None)
        if log is not None:
            log.close()
        shutil.rmtree(self._folder(dataset_id), ignore_errors=True)

    def start_compactor(self, interval_s: float = 5.0) -> None:
        """Compact every open log every ``interval_s`` seconds in a daemon thread."""
        if self._compactor is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval_s):
                with contextlib.suppress(Exception):  # retried on the next tick
                    self.compact_all()

        self._compactor = threading.Thread(target=run, name="event-log-compactor", daemon=True)
        self._compactor.start()

    def close(self) -> None:
        self._stop.set()
        if self._compactor is not None:
            self._compactor.join()
            self._compactor = None
        with self._guard:
            logs, self._logs = list(self._logs.values()), {}
        for log in logs:
            log.close()


class LogReader:
    """A read-only view of one dataset's log, usable from any process (a job worker) while the
    owner appends and compacts: it takes no lock and never trims or writes.

    :meth:`snapshot` pairs a read of the record store with the frames not yet compacted into it,
    retrying when a compaction commits in between, so no record is missed or seen twice."""

    def __init__(self, root: str | os.PathLike[str], dataset_id: str, records: RecordStore) -> None:
        self.folder = Path(root) / quote(dataset_id, safe="-_.")
        self.dataset_id = dataset_id
        self.records = records

    @property
    def checkpoint_name(self) -> str | None:
        """The name its compactions commit under; None when the log was never created."""
        try:
            doc = json.loads((self.folder / "log.json").read_text())
        except FileNotFoundError:
            return None
        return f"event-log:{doc['logId']}"

    def _wal_files(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.folder.glob("wal-*.log"):
            with contextlib.suppress(ValueError):
                found.append((int(path.stem[4:]), path))
        return sorted(found)

    def records_since(self, start: int) -> list[Record]:
        """Records of the intact frames at logical offsets ``>= start``. A frame being written
        (torn) ends the scan. Raises ``FileNotFoundError`` if a compaction removed a file."""
        files = self._wal_files()
        out: list[Record] = []
        for i, (base, path) in enumerate(files):
            next_base = files[i + 1][0] if i + 1 < len(files) else None
            if next_base is not None and next_base <= start:
                continue
            with path.open("rb") as stream:
                stream.seek(max(0, start - base))
                for _s, _e, batch in _scan_frames(stream):
                    out.extend(batch)
        return out

    def snapshot(self, read_segments: Callable[[], pa.Table]) -> tuple[pa.Table, list[Record]]:
        """``read_segments()`` (a read of this dataset's record store) and the log records that
        are not in it yet, as of one consistent moment."""
        name = self.checkpoint_name
        if name is None:
            return read_segments(), []
        for _attempt in range(20):
            before = self.records.checkpoint(self.dataset_id, name)
            table = read_segments()
            try:
                pending = self.records_since(before)
            except FileNotFoundError:
                continue
            if self.records.checkpoint(self.dataset_id, name) == before:
                return table, pending
        raise RuntimeError(f"the event log of {self.dataset_id} kept changing while being read")
