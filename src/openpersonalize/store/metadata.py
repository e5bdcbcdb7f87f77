"""The metadata store: resources, tags and jobs as rows in SQLite (WAL mode).

Several processes share one database: the API server, job workers and the scheduler. Every write
is a short transaction; claiming a job is one ``BEGIN IMMEDIATE`` transaction, so two workers can
never claim the same job.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from openpersonalize.errors import ResourceAlreadyExistsException, ResourceNotFoundException

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    arn TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    parent TEXT,
    dataset_group TEXT,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    deleted_at REAL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_kind_name ON resources(kind, name)
    WHERE kind NOT IN ('solution-version', 'dataset');
CREATE INDEX IF NOT EXISTS resources_parent ON resources(kind, parent);
CREATE INDEX IF NOT EXISTS resources_group ON resources(dataset_group);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    worker TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    not_before REAL NOT NULL DEFAULT 0,
    payload TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, not_before, id);
"""

# Job states (internal; the resource's AWS status is kept on the resource row).
QUEUED = "queued"
RUNNING = "running"
DONE = "done"


@dataclass
class Resource:
    arn: str
    kind: str
    name: str
    status: str
    created: float
    updated: float
    parent: str | None = None
    dataset_group: str | None = None
    deleted_at: float | None = None
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    id: int
    arn: str
    kind: str
    state: str
    worker: str | None
    lease_until: float | None
    attempts: int
    payload: dict[str, Any]


_Record = TypeVar("_Record", Resource, Job)
# The columns a record is read from: its fields (a table may have more).
_COLUMNS = {cls: tuple(f.name for f in fields(cls)) for cls in (Resource, Job)}


def _from_row(cls: type[_Record], row: sqlite3.Row, json_column: str) -> _Record:
    """A ``Resource`` or ``Job`` from a row; ``json_column`` is stored as JSON text."""
    values = {name: row[name] for name in _COLUMNS[cls]}
    values[json_column] = json.loads(values[json_column])
    return cls(**values)


def _resource(row: sqlite3.Row) -> Resource:
    return _from_row(Resource, row, "body")


def _job(row: sqlite3.Row) -> Job:
    return _from_row(Job, row, "payload")


class MetadataStore:
    """SQLite-backed store, one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connect().executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- resources -----------------------------------------------------------------------------

    def insert(self, resource: Resource, tags: dict[str, str] | None = None) -> None:
        """Insert a resource; ``ResourceAlreadyExistsException`` when the ARN or name is taken."""
        with self._tx(immediate=True) as db:
            try:
                db.execute(
                    "INSERT INTO resources (arn, kind, name, parent, dataset_group, status,"
                    " created, updated, deleted_at, body) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        resource.arn,
                        resource.kind,
                        resource.name,
                        resource.parent,
                        resource.dataset_group,
                        resource.status,
                        resource.created,
                        resource.updated,
                        resource.deleted_at,
                        json.dumps(resource.body),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ResourceAlreadyExistsException.for_arn(resource.arn) from exc
            for key, value in (tags or {}).items():
                db.execute(
                    "INSERT INTO tags (arn, key, value) VALUES (?,?,?)", (resource.arn, key, value)
                )

    def find(self, arn: str) -> Resource | None:
        row = self._connect().execute("SELECT * FROM resources WHERE arn = ?", (arn,)).fetchone()
        return _resource(row) if row else None

    def get(self, arn: str, kind: str | None = None) -> Resource:
        resource = self.find(arn)
        if resource is None or (kind is not None and resource.kind != kind):
            raise ResourceNotFoundException.for_arn(arn)
        return resource

    def find_by_name(self, kind: str, name: str) -> Resource | None:
        row = (
            self._connect()
            .execute("SELECT * FROM resources WHERE kind = ? AND name = ?", (kind, name))
            .fetchone()
        )
        return _resource(row) if row else None

    def update(
        self,
        arn: str,
        *,
        status: str | None = None,
        body: dict[str, Any] | None = None,
        deleted_at: float | None = None,
        touch: bool = True,
    ) -> Resource:
        """Merge ``body`` into the stored body and set the status; returns the new row."""
        with self._tx(immediate=True) as db:
            row = db.execute("SELECT * FROM resources WHERE arn = ?", (arn,)).fetchone()
            if row is None:
                raise ResourceNotFoundException.for_arn(arn)
            current = _resource(row)
            if body:
                for key, value in body.items():
                    if value is None:
                        current.body.pop(key, None)
                    else:
                        current.body[key] = value
            if status is not None:
                current.status = status
            if deleted_at is not None:
                current.deleted_at = deleted_at
            if touch:
                current.updated = max(time.time(), current.updated)
            db.execute(
                "UPDATE resources SET status = ?, updated = ?, deleted_at = ?, body = ?"
                " WHERE arn = ?",
                (
                    current.status,
                    current.updated,
                    current.deleted_at,
                    json.dumps(current.body),
                    arn,
                ),
            )
            return current

    def select(
        self,
        kind: str,
        *,
        parent: str | None = None,
        dataset_group: str | None = None,
        include_deleted: bool = True,
    ) -> list[Resource]:
        """Resources of one kind, newest first."""
        sql = "SELECT * FROM resources WHERE kind = ?"
        args: list[Any] = [kind]
        if parent is not None:
            sql += " AND parent = ?"
            args.append(parent)
        if dataset_group is not None:
            sql += " AND dataset_group = ?"
            args.append(dataset_group)
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        sql += " ORDER BY created DESC, rowid DESC"
        return [_resource(r) for r in self._connect().execute(sql, args).fetchall()]

    def children(self, parent: str) -> list[Resource]:
        rows = self._connect().execute(
            "SELECT * FROM resources WHERE parent = ? OR dataset_group = ?", (parent, parent)
        )
        return [_resource(r) for r in rows.fetchall() if r["arn"] != parent]

    def remove(self, arn: str) -> None:
        with self._tx(immediate=True) as db:
            db.execute("DELETE FROM resources WHERE arn = ?", (arn,))
            db.execute("DELETE FROM tags WHERE arn = ?", (arn,))
            db.execute("DELETE FROM jobs WHERE arn = ? AND state != ?", (arn, RUNNING))

    def due_deletions(self, before: float) -> list[Resource]:
        rows = self._connect().execute(
            "SELECT * FROM resources WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (before,)
        )
        return [_resource(r) for r in rows.fetchall()]

    def count(
        self, kind: str, *, dataset_group: str | None = None, statuses: tuple[str, ...] = ()
    ) -> int:
        sql = "SELECT COUNT(*) FROM resources WHERE kind = ? AND deleted_at IS NULL"
        args: list[Any] = [kind]
        if dataset_group is not None:
            sql += " AND dataset_group = ?"
            args.append(dataset_group)
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        return int(self._connect().execute(sql, args).fetchone()[0])

    # -- tags ----------------------------------------------------------------------------------

    def tags(self, arn: str) -> dict[str, str]:
        rows = self._connect().execute(
            "SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,)
        )
        return {r["key"]: r["value"] for r in rows.fetchall()}

    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        with self._tx(immediate=True) as db:
            for key, value in tags.items():
                db.execute(
                    "INSERT INTO tags (arn, key, value) VALUES (?,?,?)"
                    " ON CONFLICT(arn, key) DO UPDATE SET value = excluded.value",
                    (arn, key, value),
                )

    def remove_tags(self, arn: str, keys: list[str]) -> None:
        with self._tx(immediate=True) as db:
            db.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])

    # -- jobs ----------------------------------------------------------------------------------

    def enqueue(
        self, arn: str, kind: str, payload: dict[str, Any] | None = None, delay: float = 0.0
    ) -> int:
        now = time.time()
        with self._tx(immediate=True) as db:
            cursor = db.execute(
                "INSERT INTO jobs (arn, kind, state, created, not_before, payload)"
                " VALUES (?,?,?,?,?,?)",
                (arn, kind, QUEUED, now, now + delay, json.dumps(payload or {})),
            )
            return int(cursor.lastrowid or 0)

    def claim(self, worker: str, lease_seconds: float, kinds: tuple[str, ...] = ()) -> Job | None:
        """Atomically take the oldest queued job (optionally of the given kinds)."""
        now = time.time()
        with self._tx(immediate=True) as db:
            sql = "SELECT * FROM jobs WHERE state = ? AND not_before <= ?"
            args: list[Any] = [QUEUED, now]
            if kinds:
                sql += f" AND kind IN ({','.join('?' * len(kinds))})"
                args.extend(kinds)
            row = db.execute(sql + " ORDER BY id LIMIT 1", args).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = ?, worker = ?, lease_until = ?, attempts = attempts + 1"
                " WHERE id = ?",
                (RUNNING, worker, now + lease_seconds, row["id"]),
            )
            job = _job(row)
            job.state, job.worker, job.attempts = RUNNING, worker, job.attempts + 1
            return job

    def heartbeat(self, job_id: int, worker: str, lease_seconds: float) -> bool:
        """Extend a lease; False when the job is no longer ours (recovered or cancelled)."""
        with self._tx(immediate=True) as db:
            cursor = db.execute(
                "UPDATE jobs SET lease_until = ? WHERE id = ? AND worker = ? AND state = ?",
                (time.time() + lease_seconds, job_id, worker, RUNNING),
            )
            return cursor.rowcount == 1

    def finish(self, job_id: int) -> None:
        with self._tx(immediate=True) as db:
            db.execute("UPDATE jobs SET state = ?, lease_until = NULL WHERE id = ?", (DONE, job_id))

    def jobs(self, arn: str | None = None, states: tuple[str, ...] = ()) -> list[Job]:
        sql = "SELECT * FROM jobs WHERE 1=1"
        args: list[Any] = []
        if arn is not None:
            sql += " AND arn = ?"
            args.append(arn)
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args.extend(states)
        return [_job(r) for r in self._connect().execute(sql + " ORDER BY id", args).fetchall()]

    def expired_jobs(self, now: float) -> list[Job]:
        rows = self._connect().execute(
            "SELECT * FROM jobs WHERE state = ? AND lease_until < ?", (RUNNING, now)
        )
        return [_job(r) for r in rows.fetchall()]

    def requeue(self, job_id: int) -> None:
        with self._tx(immediate=True) as db:
            db.execute(
                "UPDATE jobs SET state = ?, worker = NULL, lease_until = NULL WHERE id = ?",
                (QUEUED, job_id),
            )
