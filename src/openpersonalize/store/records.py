"""Dataset records: typed Parquet segments per dataset, switched atomically by a manifest.

Layout under the store root (a local data directory or an S3 bucket/prefix)::

    datasets/<dataset id, %-encoded>/manifests/<generation:012d>.json
    datasets/<dataset id, %-encoded>/segments/<transaction>/<n:05d>.parquet

A manifest lists the live segments, each tagged with its source (``BULK`` for import jobs, ``PUT``
for compacted real-time records) and a sequence number that orders them oldest → newest. The newest
manifest generation is the current one; a commit writes generation ``g + 1`` with a create-if-absent
write, so concurrent writers (import workers, the event-log compactor, other nodes on a shared
bucket) never lose each other's updates: the loser reloads and re-applies its change.

Segments are written before the manifest that names them, so a reader sees either the old set or
the new one, and a FULL import that fails half-way leaves the previous data untouched. Segments a
commit drops are deleted right after it; readers that raced with the deletion reload and retry.

Items / Users / Actions datasets carry an ``upsert_key`` (``ITEM_ID`` …): reading ``ALL`` keeps the
newest record per key (later segment, later row). Interactions have none and append.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from openpersonalize.store.objects import (
    LocationError,
    ObjectExistsError,
    ObjectStore,
    ObjectStoreSettings,
    open_location,
)

Source = Literal["ALL", "BULK", "PUT"]
SegmentSource = Literal["BULK", "PUT"]

_FORMAT = 1
_COMPRESSION = "zstd"
_ORDINAL = "__record_ordinal"
_READ_ATTEMPTS = 5
_KEEP_MANIFESTS = 3


class CheckpointMismatch(Exception):
    """A log compaction found another compaction already past its starting point."""


@dataclass(frozen=True, slots=True)
class Segment:
    key: str  # relative to the dataset's folder
    source: SegmentSource
    rows: int
    seq: int


@dataclass(frozen=True, slots=True)
class LogCheckpoint:
    """Commit a PUT segment made from log positions ``[start, end)`` of the log ``name``."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Manifest:
    generation: int = 0
    upsert_key: str | None = None
    next_seq: int = 0
    segments: tuple[Segment, ...] = ()
    checkpoints: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> bytes:
        doc = {
            "format": _FORMAT,
            "generation": self.generation,
            "upsertKey": self.upsert_key,
            "nextSeq": self.next_seq,
            "segments": [
                {"key": s.key, "source": s.source, "rows": s.rows, "seq": s.seq}
                for s in self.segments
            ],
            "checkpoints": self.checkpoints,
        }
        return json.dumps(doc, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        doc = json.loads(data)
        if doc.get("format") != _FORMAT:
            raise ValueError(f"unsupported record manifest format {doc.get('format')!r}")
        return cls(
            generation=int(doc["generation"]),
            upsert_key=doc.get("upsertKey"),
            next_seq=int(doc["nextSeq"]),
            segments=tuple(
                Segment(key=s["key"], source=s["source"], rows=int(s["rows"]), seq=int(s["seq"]))
                for s in doc["segments"]
            ),
            checkpoints={str(k): int(v) for k, v in doc.get("checkpoints", {}).items()},
        )

    def selected(self, source: Source) -> list[Segment]:
        segments = sorted(self.segments, key=lambda s: s.seq)
        return segments if source == "ALL" else [s for s in segments if s.source == source]


class _Conflict(Exception):
    """Another writer committed the generation this commit meant to write."""


class _Stale(Exception):
    """A change computed from an older manifest no longer applies; recompute it."""


def _dataset_folder(dataset_id: str) -> str:
    # Dataset ids are ARNs: keep them readable but make them one path component.
    return "datasets/" + quote(dataset_id, safe="-_.") + "/"


def _check_source(source: str) -> Source:
    if source not in ("ALL", "BULK", "PUT"):
        raise ValueError(f"source must be ALL, BULK or PUT, not {source!r}")
    return source  # type: ignore[return-value]


class RecordStore:
    """Parquet segments per dataset under ``root``; thread-safe, and safe across processes."""

    def __init__(
        self,
        root: ObjectStore | str,
        settings: ObjectStoreSettings | None = None,
        *,
        segment_rows: int = 1_000_000,
    ) -> None:
        self.root = root if isinstance(root, ObjectStore) else open_location(root, settings)
        self.segment_rows = segment_rows
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- manifests --------------------------------------------------------------------------

    def _lock(self, dataset_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(dataset_id, threading.Lock())

    def manifest(self, dataset_id: str) -> Manifest:
        """The current manifest (generation 0, empty, for a dataset never written)."""
        folder = _dataset_folder(dataset_id) + "manifests/"
        for _attempt in range(_READ_ATTEMPTS):
            listed = [o for o in self.root.list_prefix(folder) if o.key.endswith(".json")]
            if not listed:
                return Manifest()
            try:
                return Manifest.from_json(self.root.read_bytes(max(o.key for o in listed)))
            except LocationError:  # pruned by a newer commit between list and read
                continue
        raise LocationError(f"Cannot read the manifest of {dataset_id}.", self.root.url_for(folder))

    def _commit(self, dataset_id: str, base: Manifest, new: Manifest) -> Manifest:
        folder = _dataset_folder(dataset_id) + "manifests/"
        new = replace(new, generation=base.generation + 1)
        try:
            self.root.write_bytes(
                f"{folder}{new.generation:012d}.json", new.to_json(), if_absent=True
            )
        except ObjectExistsError:
            raise _Conflict from None
        for old in range(
            max(0, new.generation - _KEEP_MANIFESTS - 8), new.generation - _KEEP_MANIFESTS
        ):
            self.root.delete(f"{folder}{old:012d}.json")
        return new

    def _update(
        self, dataset_id: str, mutate: Callable[[Manifest], Manifest], new_keys: Sequence[str] = ()
    ) -> tuple[Manifest, Manifest]:
        """Apply ``mutate`` to the current manifest until the commit wins; then delete the
        segments the commit dropped. On an error, delete ``new_keys`` (segments written for it)."""
        folder = _dataset_folder(dataset_id)
        try:
            with self._lock(dataset_id):
                while True:
                    base = self.manifest(dataset_id)
                    proposed = mutate(base)
                    try:
                        new = self._commit(dataset_id, base, proposed)
                        break
                    except _Conflict:
                        continue
        except BaseException:
            for key in new_keys:
                self.root.delete(folder + key)
            raise
        live = {s.key for s in new.segments}
        for segment in base.segments:
            if segment.key not in live:
                self.root.delete(folder + segment.key)
        return base, new

    # -- writing ----------------------------------------------------------------------------

    def _write_segments(self, dataset_id: str, tables: Iterable[pa.Table]) -> list[tuple[str, int]]:
        """Write ``tables`` as segments of a new transaction; returns (key, rows) per segment.
        Removes what it wrote if ``tables`` raises."""
        folder = _dataset_folder(dataset_id)
        txn = f"segments/{int(time.time() * 1000):013d}-{uuid.uuid4().hex[:12]}/"
        written: list[tuple[str, int]] = []
        pending: list[pa.Table] = []
        pending_rows = 0

        def flush() -> None:
            nonlocal pending, pending_rows
            if not pending_rows:
                pending, pending_rows = [], 0
                return
            table = pa.concat_tables(pending, promote_options="permissive")
            key = f"{txn}{len(written):05d}.parquet"
            with self.root.open_write(folder + key) as stream:
                pq.write_table(table, stream, compression=_COMPRESSION)
            written.append((key, table.num_rows))
            pending, pending_rows = [], 0

        try:
            for table in tables:
                if table.num_rows == 0:
                    continue
                if pending and table.schema != pending[0].schema:
                    flush()
                pending.append(table)
                pending_rows += table.num_rows
                if pending_rows >= self.segment_rows:
                    flush()
            flush()
        except BaseException:
            for key, _rows in written:
                self.root.delete(folder + key)
            raise
        return written

    def replace_bulk(
        self, dataset_id: str, tables: Iterable[pa.Table], *, upsert_key: str | None = None
    ) -> int:
        """FULL import: the BULK records become exactly ``tables`` (PUT records are kept).

        Atomic: if ``tables`` raises half-way nothing changes. Returns the rows written."""
        written = self._write_segments(dataset_id, tables)

        def mutate(base: Manifest) -> Manifest:
            kept = tuple(s for s in base.segments if s.source != "BULK")
            added = tuple(
                Segment(key=key, source="BULK", rows=rows, seq=base.next_seq + i)
                for i, (key, rows) in enumerate(written)
            )
            return replace(
                base,
                upsert_key=upsert_key if upsert_key is not None else base.upsert_key,
                next_seq=base.next_seq + len(added),
                segments=kept + added,
            )

        self._update(dataset_id, mutate, [key for key, _ in written])
        return sum(rows for _, rows in written)

    def append(
        self,
        dataset_id: str,
        table: pa.Table,
        upsert_key: str | None = None,
        *,
        source: SegmentSource = "BULK",
        checkpoint: LogCheckpoint | None = None,
    ) -> int:
        """INCREMENTAL import (``source="BULK"``) or compacted real-time records (``"PUT"``).

        With ``upsert_key`` the dataset reads newest-record-per-key; without, records append.
        ``checkpoint`` commits a log position together with the segment (exactly-once
        compaction); raises :class:`CheckpointMismatch` if the log's checkpoint is not at
        ``checkpoint.start``. Returns the rows written."""
        if source not in ("BULK", "PUT"):
            raise ValueError(f"source must be BULK or PUT, not {source!r}")
        written = self._write_segments(dataset_id, [table])

        def mutate(base: Manifest) -> Manifest:
            checkpoints = dict(base.checkpoints)
            if checkpoint is not None:
                if checkpoints.get(checkpoint.name, 0) != checkpoint.start:
                    raise CheckpointMismatch(
                        f"log {checkpoint.name} is at {checkpoints.get(checkpoint.name, 0)}, "
                        f"not {checkpoint.start}"
                    )
                checkpoints[checkpoint.name] = checkpoint.end
            added = tuple(
                Segment(key=key, source=source, rows=rows, seq=base.next_seq + i)
                for i, (key, rows) in enumerate(written)
            )
            return replace(
                base,
                upsert_key=upsert_key if upsert_key is not None else base.upsert_key,
                next_seq=base.next_seq + len(added),
                segments=base.segments + added,
                checkpoints=checkpoints,
            )

        self._update(dataset_id, mutate, [key for key, _ in written])
        return sum(rows for _, rows in written)

    def checkpoint(self, dataset_id: str, name: str) -> int:
        """The committed position of log ``name`` (0 if it never compacted into this dataset)."""
        return self.manifest(dataset_id).checkpoints.get(name, 0)

    # -- reading ----------------------------------------------------------------------------

    def _read_segment(
        self, dataset_id: str, segment: Segment, columns: Sequence[str] | None
    ) -> pa.Table:
        key = _dataset_folder(dataset_id) + segment.key
        path = self.root.local_path(key)
        if path is not None:
            if not path.is_file():
                raise LocationError(f"The segment {path} does not exist.", str(path))
            parquet = pq.ParquetFile(path, memory_map=True)
        else:
            parquet = pq.ParquetFile(pa.BufferReader(self.root.read_bytes(key)))
        if columns is None:
            return parquet.read()
        names = set(parquet.schema_arrow.names)
        table = parquet.read(columns=[c for c in columns if c in names])
        for i, column in enumerate(columns):
            if column not in names:  # added by a later schema; promoted on concatenation
                table = table.add_column(i, column, pa.nulls(table.num_rows))
        return table.select(list(columns))

    def _read_once(
        self, dataset_id: str, manifest: Manifest, columns: Sequence[str] | None, source: Source
    ) -> pa.Table:
        segments = manifest.selected(source)
        upsert_key = manifest.upsert_key if source == "ALL" else None
        wanted = None if columns is None else list(dict.fromkeys(columns))
        if wanted is not None and upsert_key is not None and upsert_key not in wanted:
            wanted.append(upsert_key)
        tables = [self._read_segment(dataset_id, s, wanted) for s in segments]
        if not tables:
            return pa.table({c: pa.nulls(0) for c in (columns or [])})
        table = pa.concat_tables(tables, promote_options="permissive")
        if upsert_key is not None and upsert_key in table.column_names and table.num_rows:
            table = _newest_per_key(table, upsert_key)
        if columns is not None:
            table = table.select(list(dict.fromkeys(columns)))
        return table.combine_chunks()

    def read(
        self, dataset_id: str, columns: Sequence[str] | None = None, source: Source = "ALL"
    ) -> pa.Table:
        """The dataset's records, oldest segment first. ``ALL`` applies upserts (newest record
        per key); ``BULK`` / ``PUT`` return every record of that source. Columns missing from
        older segments read as nulls."""
        source = _check_source(source)
        last_error: LocationError | None = None
        for _attempt in range(_READ_ATTEMPTS):
            manifest = self.manifest(dataset_id)
            try:
                return self._read_once(dataset_id, manifest, columns, source)
            except LocationError as exc:  # a concurrent commit removed a segment: reload
                if self.manifest(dataset_id).generation == manifest.generation:
                    raise
                last_error = exc
        assert last_error is not None
        raise last_error

    def count(self, dataset_id: str, source: Source = "ALL") -> int:
        source = _check_source(source)
        manifest = self.manifest(dataset_id)
        if source != "ALL" or manifest.upsert_key is None:
            return sum(s.rows for s in manifest.selected(source))
        return int(self.read(dataset_id, [manifest.upsert_key], source).num_rows)

    def datasets(self) -> list[str]:
        """Ids of the datasets that have records (or had, until dropped)."""
        from urllib.parse import unquote

        found = {o.key.split("/")[1] for o in self.root.list_prefix("datasets/")}
        return sorted(unquote(name) for name in found)

    # -- rewriting --------------------------------------------------------------------------

    def delete_users(
        self, dataset_id: str, user_ids: Iterable[str], *, user_column: str = "USER_ID"
    ) -> int:
        """Remove every record whose ``user_column`` is one of ``user_ids`` (a data deletion job).
        Segments without such records are left as they are. Returns the records removed."""
        value_set = pa.array(sorted(set(user_ids)), pa.string())
        if len(value_set) == 0:
            return 0
        folder = _dataset_folder(dataset_id)
        while True:
            base = self.manifest(dataset_id)
            rewritten: dict[str, Segment | None] = {}
            new_keys: list[str] = []
            removed = 0
            try:
                for segment in base.segments:
                    table = self._read_segment(dataset_id, segment, None)
                    if user_column not in table.column_names:
                        continue
                    users = pc.cast(table[user_column], pa.string())
                    drop = pc.fill_null(pc.is_in(users, value_set=value_set), False)
                    n_drop = pc.sum(drop).as_py() or 0
                    if not n_drop:
                        continue
                    removed += n_drop
                    kept = table.filter(pc.invert(drop))
                    if kept.num_rows == 0:
                        rewritten[segment.key] = None
                        continue
                    [(key, rows)] = self._write_segments(dataset_id, [kept])
                    new_keys.append(key)
                    rewritten[segment.key] = replace(segment, key=key, rows=rows)
            except LocationError:
                self._delete_keys(folder, new_keys)
                continue  # raced with a commit that removed a segment
            if not rewritten:
                return 0

            def mutate(
                current: Manifest,
                base: Manifest = base,
                rewritten: dict[str, Segment | None] = rewritten,
            ) -> Manifest:
                if current.generation != base.generation:
                    raise _Stale
                segments = tuple(
                    s2 for s in current.segments if (s2 := rewritten.get(s.key, s)) is not None
                )
                return replace(current, segments=segments)

            try:
                self._update(dataset_id, mutate, new_keys)
            except _Stale:
                continue  # someone committed meanwhile: redo on the new manifest
            return removed

    def _delete_keys(self, folder: str, keys: Iterable[str]) -> None:
        for key in keys:
            self.root.delete(folder + key)

    def merge_segments(self, dataset_id: str, *, small_rows: int = 100_000) -> int:
        """Merge runs of consecutive small segments of one source into one segment each (the
        many small PUT segments that log compaction leaves). Order, and so upsert semantics, is
        kept. Returns the number of segments removed."""
        base = self.manifest(dataset_id)
        runs: list[list[Segment]] = []
        for segment in base.selected("ALL"):
            small = segment.rows < small_rows
            if runs and small and runs[-1][-1].source == segment.source:
                runs[-1].append(segment)
            else:
                runs.append([segment] if small else [])
        runs = [run for run in runs if len(run) > 1]
        if not runs:
            return 0
        merged: dict[str, Segment | None] = {}
        new_keys: list[str] = []
        for run in runs:
            tables = [self._read_segment(dataset_id, s, None) for s in run]
            [(key, rows)] = self._write_segments(
                dataset_id, [pa.concat_tables(tables, promote_options="permissive")]
            )
            new_keys.append(key)
            for s in run[:-1]:
                merged[s.key] = None
            merged[run[-1].key] = replace(run[-1], key=key, rows=rows)

        def mutate(current: Manifest) -> Manifest:
            live = {s.key for s in current.segments}
            if not set(merged) <= live:
                raise _Stale  # a run changed under us: give up this time
            segments = tuple(
                s2 for s in current.segments if (s2 := merged.get(s.key, s)) is not None
            )
            return replace(current, segments=segments)

        try:
            self._update(dataset_id, mutate, new_keys)
        except _Stale:
            return 0
        return sum(len(run) - 1 for run in runs)

    def collect_garbage(self, dataset_id: str, *, min_age_s: float = 3600.0) -> int:
        """Delete segment files no manifest names (left by crashed writers) once older than
        ``min_age_s`` — younger ones may belong to a transaction still being written."""
        folder = _dataset_folder(dataset_id)
        live = {folder + s.key for s in self.manifest(dataset_id).segments}
        cutoff = time.time() - min_age_s
        removed = 0
        for obj in self.root.list_prefix(folder + "segments/"):
            if obj.key not in live and obj.modified < cutoff:
                self.root.delete(obj.key)
                removed += 1
        return removed

    def drop(self, dataset_id: str) -> None:
        """Delete every record of the dataset."""
        with self._lock(dataset_id):
            folder = _dataset_folder(dataset_id)
            # Manifests first, so that no reader sees a manifest whose segments are gone.
            self.root.delete_prefix(folder + "manifests/")
            self.root.delete_prefix(folder)


def _newest_per_key(table: pa.Table, key: str) -> pa.Table:
    """Keep the last row per ``key`` value, in the original row order."""
    ordinals = pa.array(np.arange(table.num_rows, dtype=np.int64))
    grouped = (
        pa.table({key: table[key], _ORDINAL: ordinals})
        .group_by(key, use_threads=False)
        .aggregate([(_ORDINAL, "max")])
    )
    keep = np.sort(grouped[f"{_ORDINAL}_max"].to_numpy())
    if len(keep) == table.num_rows:
        return table
    return table.take(pa.array(keep))
