"""All the records of a dataset, as one typed table: bulk imports, compacted real-time (PUT)
records and the real-time records still in the event log.

Usable from any process: the event log's uncompacted frames are read read-only (no lock), paired
consistently with the record store (:class:`~openpersonalize.store.event_log.LogReader`). Training
calls :func:`read_dataset` with ``source="ALL"``; exports use ``BULK`` / ``PUT`` / ``ALL``.

Semantics:

- Items / Users / Actions upsert: with ``ALL`` the newest record per id wins (log records are newer
  than every segment); ``BULK`` and ``PUT`` return every record of that source.
- Interactions append. Anonymous events (no ``USER_ID``) carry the ``SESSION_ID`` they were sent
  with; reading resolves them to the user that the same session was later seen with, else to the
  session id itself (Personalize merges anonymous histories at the next training).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from openpersonalize.data.schemas import AvroSchema
from openpersonalize.store.event_log import DatasetKind, LogConfig, LogReader
from openpersonalize.store.records import RecordStore

Source = Literal["ALL", "BULK", "PUT"]
SESSION_COLUMN = "SESSION_ID"

# Canonical dataset type (as DescribeDataset spells it) -> the record kind of the stores.
KINDS: dict[str, DatasetKind] = {
    "Interactions": "INTERACTIONS",
    "Items": "ITEMS",
    "Users": "USERS",
    "Actions": "ACTIONS",
    "Action_Interactions": "ACTION_INTERACTIONS",
}


@dataclass(frozen=True)
class DatasetSpec:
    """What the stores need to know about a dataset: its id (the dataset ARN), type and schema."""

    dataset_id: str
    dataset_type: str  # canonical: Interactions, Items, Users, Actions, Action_Interactions
    schema: AvroSchema

    @property
    def kind(self) -> DatasetKind:
        return KINDS[self.dataset_type]

    @property
    def log_config(self) -> LogConfig:
        return LogConfig.for_kind(self.kind)

    @property
    def upsert_key(self) -> str | None:
        return self.log_config.upsert_key

    @property
    def is_interactions(self) -> bool:
        return self.log_config.is_interactions

    @property
    def columns(self) -> tuple[str, ...]:
        return self.schema.field_names

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns real-time records keep beyond the schema: the session of interactions."""
        if self.is_interactions and SESSION_COLUMN not in self.schema:
            return (SESSION_COLUMN,)
        return ()

    def put_schema(self) -> pa.Schema:
        """The Arrow schema of real-time records: the schema's types, every column nullable
        (anonymous events have no USER_ID), plus :attr:`extra_columns`."""
        fields = [pa.field(f.name, f.arrow_type, nullable=True) for f in self.schema.fields]
        fields += [pa.field(name, pa.string(), nullable=True) for name in self.extra_columns]
        return pa.schema(fields)

    def put_table(self, records: Sequence[Mapping[str, Any]]) -> pa.Table:
        """Records (already coerced to the schema's Python types) as a typed table; keys outside
        the schema and :attr:`extra_columns` are dropped."""
        schema = self.put_schema()
        return pa.table(
            [pa.array([r.get(f.name) for r in records], f.type) for f in schema], schema=schema
        )


def read_dataset(
    records: RecordStore,
    events_root: str | Path,
    spec: DatasetSpec,
    *,
    source: Source = "ALL",
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """The dataset's records (default columns: the schema's fields, in schema order).

    ``ALL``: bulk + real-time, newest per id for Items/Users/Actions. ``BULK``: import jobs only.
    ``PUT``: real-time records only (compacted or still in the log)."""
    wanted = list(columns) if columns is not None else list(spec.columns)
    read_columns = list(dict.fromkeys(wanted + list(spec.extra_columns)))
    if spec.upsert_key is not None and spec.upsert_key not in read_columns:
        read_columns.append(spec.upsert_key)

    def segments() -> pa.Table:
        return records.read(spec.dataset_id, read_columns, source=source)

    if source == "BULK":
        table = segments()
        pending: list[dict[str, Any]] = []
    else:
        table, pending = LogReader(events_root, spec.dataset_id, records).snapshot(segments)
    table = _cast(table, spec, read_columns)
    if pending:
        log_table = spec.put_table(pending).select(read_columns)
        table = pa.concat_tables([table, log_table], promote_options="permissive")
        if source == "ALL" and spec.upsert_key is not None:
            table = newest_per_key(table, spec.upsert_key)
    if spec.is_interactions and "USER_ID" in table.column_names and spec.extra_columns:
        table = resolve_anonymous_users(table)
    return table.select(wanted).combine_chunks()


def _cast(table: pa.Table, spec: DatasetSpec, columns: Sequence[str]) -> pa.Table:
    """Columns read as all-null (absent from every segment) get their declared type."""
    types = {f.name: f.type for f in spec.put_schema()}
    arrays = []
    for name in columns:
        column = table[name]
        target = types.get(name)
        if target is not None and column.type != target:
            column = column.cast(target)
        arrays.append(column)
    return pa.table(arrays, names=list(columns))


def newest_per_key(table: pa.Table, key: str) -> pa.Table:
    """Keep the last row per ``key`` value, in the original row order."""
    if table.num_rows == 0:
        return table
    ordinals = pa.array(np.arange(table.num_rows, dtype=np.int64))
    grouped = (
        pa.table({key: table[key], "__ordinal": ordinals})
        .group_by(key, use_threads=False)
        .aggregate([("__ordinal", "max")])
    )
    keep = np.sort(grouped["__ordinal_max"].to_numpy())
    if len(keep) == table.num_rows:
        return table
    return table.take(pa.array(keep))


def resolve_anonymous_users(table: pa.Table) -> pa.Table:
    """Fill a missing USER_ID from the session: the user seen with that session, else the
    session id itself."""
    users = table["USER_ID"]
    if users.null_count == 0:
        return table
    sessions = table[SESSION_COLUMN].to_pylist()
    user_list = users.to_pylist()
    known = {s: u for s, u in zip(sessions, user_list, strict=True) if s is not None and u}
    filled = [
        u if u is not None else known.get(s, s) for u, s in zip(user_list, sessions, strict=True)
    ]
    index = table.column_names.index("USER_ID")
    return table.set_column(index, table.schema.field(index), pa.array(filled, pa.string()))


def unique_rows(table: pa.Table) -> pa.Table:
    """Exact duplicate rows once (first occurrence kept, order kept)."""
    if table.num_rows == 0:
        return table
    ordinals = pa.array(np.arange(table.num_rows, dtype=np.int64))
    keyed = table.append_column("__ordinal", ordinals)
    grouped = keyed.group_by(table.column_names, use_threads=False).aggregate(
        [("__ordinal", "min")]
    )
    keep = np.sort(grouped["__ordinal_min"].to_numpy())
    if len(keep) == table.num_rows:
        return table
    return table.take(pa.array(keep))
