"""Metric attribution state shared by the server and the job workers, in one SQLite file (WAL) of
the data directory (``attribution.sqlite3``):

- ``aggregates``: one row per (metric attribution, metric, event type, source, 15-minute window)
  with its running value. Adding is an upsert that sums, so the server (PutEvents) and workers
  (incremental imports) can add to the same rows concurrently.
- ``recommendations``: recommendationId → the campaign or recommender ARN that issued it, so
  that an event carrying the id is attributed to that ARN (also from an import in a worker).
  Rows older than the retention are dropped.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from openpersonalize.data.attribution import Aggregate, MathFunction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS aggregates (
    attribution_arn TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    math_function TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (attribution_arn, metric_name, event_type, source, window_start)
);
CREATE TABLE IF NOT EXISTS recommendations (
    recommendation_id TEXT PRIMARY KEY,
    source_arn TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS recommendations_created ON recommendations (created);
"""
_CHUNK = 500  # ids per IN (...) query, under SQLite's variable limit


class AttributionStore:
    """Thread-safe (one connection behind a lock); safe across processes (SQLite locking)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    # -- aggregates -------------------------------------------------------------------------

    def add(self, attribution_arn: str, aggregates: Iterable[Aggregate]) -> int:
        """Add the aggregates to the stored running values (one transaction)."""
        rows = [
            (
                attribution_arn,
                a.metric_name,
                a.event_type,
                a.source,
                a.window_start,
                a.math_function,
                a.value,
            )
            for a in aggregates
        ]
        if not rows:
            return 0
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (attribution_arn, metric_name, event_type, source, window_start) "
                "DO UPDATE SET value = value + excluded.value",
                rows,
            )
        return len(rows)

    def aggregates(
        self, attribution_arns: Collection[str], since: int | None = None
    ) -> dict[str, list[Aggregate]]:
        """Stored aggregates per attribution ARN (windows starting at ``since`` or later)."""
        out: dict[str, list[Aggregate]] = {arn: [] for arn in attribution_arns}
        arns = list(attribution_arns)
        for start in range(0, len(arns), _CHUNK):
            chunk = arns[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = (
                "SELECT attribution_arn, metric_name, event_type, source, window_start, "
                f"math_function, value FROM aggregates WHERE attribution_arn IN ({marks})"
            )
            params: list[object] = list(chunk)
            if since is not None:
                query += " AND window_start >= ?"
                params.append(since)
            query += " ORDER BY attribution_arn, metric_name, window_start, event_type, source"
            with self._lock:
                rows = self._db.execute(query, params).fetchall()
            for arn, name, event_type, source, window, function, value in rows:
                math_function: MathFunction = "sum" if function == "sum" else "samplecount"
                out[arn].append(
                    Aggregate(name, event_type, source, int(window), math_function, float(value))
                )
        return out

    def drop(self, attribution_arn: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM aggregates WHERE attribution_arn = ?", (attribution_arn,))

    # -- recommendation ids -----------------------------------------------------------------

    def remember(self, issued: Sequence[tuple[str, str, float]]) -> None:
        """Record (recommendationId, campaign/recommender ARN, issued at epoch seconds)."""
        if not issued:
            return
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO recommendations VALUES (?, ?, ?)", list(issued)
            )

    def resolve(self, recommendation_ids: Iterable[str]) -> dict[str, str]:
        """recommendationId → ARN for the ids that are known."""
        ids = list(dict.fromkeys(recommendation_ids))
        out: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    "SELECT recommendation_id, source_arn FROM recommendations "
                    f"WHERE recommendation_id IN ({marks})",
                    chunk,
                ).fetchall()
            out.update((str(rid), str(arn)) for rid, arn in rows)
        return out

    def forget_before(self, cutoff: float) -> int:
        """Drop recommendation ids issued before ``cutoff`` (epoch seconds)."""
        with self._lock, self._db:
            cursor = self._db.execute("DELETE FROM recommendations WHERE created < ?", (cutoff,))
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
