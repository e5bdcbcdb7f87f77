"""Per-dataset-group data that serving reads: item / user attributes and the users' bulk history.

Built from the dataset records (``ctx.records``) once per dataset snapshot and rebuilt when the
dataset's record manifest moves to a new generation (an import, or compacted PutItems/PutUsers).
Tables are immutable once built; a refresh builds a new one and swaps the reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.data.schemas import AvroSchema
from openpersonalize.data.vocab import Vocabulary
from openpersonalize.filtering import (
    DEFAULT_HISTORY_DEPTH,
    CategoricalColumn,
    Column,
    NumericColumn,
)

# Newest bulk interactions kept per user for real-time fold-in and Interactions filters...
HISTORY_PER_USER = 200
# ...and, beyond those, the newest of each event type: Interactions filters and the domain use
# cases' automatic exclusions look at a user's latest 100 events *per event type* (spec §3.1,
# §5.2), which the newest 200 overall do not hold for a user with many events of another type.
HISTORY_PER_EVENT_TYPE = DEFAULT_HISTORY_DEPTH
_NUMERIC = ("int", "long", "float", "double")


def _find(table: pa.Table, name: str) -> str | None:
    wanted = name.upper()
    for column in table.column_names:
        if column.upper() == wanted:
            return str(column)
    return None


def _strings(column: pa.ChunkedArray) -> list[str | None]:
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    values: list[str | None] = column.to_pylist()
    return values


def _codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Dictionary-encode a string column: codes (n,) int64 with -1 for null, and the values."""
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    encoded = pc.dictionary_encode(column).combine_chunks()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(encoded.indices.is_null().to_numpy(zero_copy_only=False), -1, indices)
    return codes.astype(np.int64), [str(v) for v in encoded.dictionary.to_pylist()]


def _as_float(column: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    try:
        cast = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = [_to_float(v) for v in column.to_pylist()]
        return np.asarray(values, dtype=np.float64)
    return np.asarray(cast.to_numpy(zero_copy_only=False), dtype=np.float64)


def _to_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def take_rows(column: Column, positions: npt.NDArray[np.int64]) -> Column:
    """Rows ``positions`` of a column (-1 → a missing value), as a new column."""
    valid = positions >= 0
    safe = np.where(valid, positions, 0)
    if isinstance(column, NumericColumn):
        values = np.where(valid, column.values[safe] if len(column.values) else np.nan, np.nan)
        return NumericColumn(values.astype(np.float64))
    if column.n_rows == 0:
        empty = np.zeros(len(positions) + 1, dtype=np.int64)
        return CategoricalColumn(empty, np.zeros(0, dtype=np.int64), column.vocab, column.code_of)
    starts = np.where(valid, column.indptr[safe], 0)
    lengths = np.where(valid, column.indptr[safe + 1] - column.indptr[safe], 0)
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    rows = np.repeat(np.arange(len(positions), dtype=np.int64), lengths)
    offsets = np.arange(int(indptr[-1]), dtype=np.int64) - indptr[rows]
    codes = column.codes[starts[rows] + offsets]
    return CategoricalColumn(indptr, codes.astype(np.int64), column.vocab, column.code_of)


@dataclass(frozen=True, eq=False)
class AttributeTable:
    """Items or Users records: ids, filterable columns and the raw rows for ``metadata``."""

    ids: Vocabulary
    columns: Mapping[str, Column]  # schema column name -> rows aligned with ``ids``
    raw: pa.Table  # the records, row i = ids[i], for metadataColumns
    column_names: Mapping[str, str]  # upper-cased name -> schema name (every non-id column)
    generation: int = 0

    @classmethod
    def build(
        cls, table: pa.Table, schema: AvroSchema | None, id_column: str, generation: int = 0
    ) -> AttributeTable:
        id_name = _find(table, id_column)
        if id_name is None or table.num_rows == 0:
            return cls(Vocabulary(), {}, pa.table({}), {}, generation)
        ids = Vocabulary()
        keep: list[int] = []
        for row, value in enumerate(_strings(table[id_name])):
            if value is None:
                continue
            before = len(ids)
            ids.add(value)
            if len(ids) > before:
                keep.append(row)
            else:  # duplicate id within the snapshot: the later record wins
                keep[ids.index(value)] = row
        raw = table.take(pa.array(keep, type=pa.int64()))
        columns: dict[str, Column] = {}
        names: dict[str, str] = {}
        fields = {f.name.upper(): f for f in schema.fields} if schema else {}
        for name in raw.column_names:
            if name.upper() == id_column:
                continue
            spec = fields.get(name.upper())
            schema_name = spec.name if spec else name
            names[schema_name.upper()] = schema_name
            data = raw[name]
            if spec is not None and (spec.type == "boolean" or spec.textual):
                continue  # not filterable; still available as metadata
            if (spec is not None and spec.type in _NUMERIC) or (
                spec is None and (pa.types.is_integer(data.type) or pa.types.is_floating(data.type))
            ):
                columns[schema_name] = NumericColumn(_as_float(data))
            else:
                categorical = spec is not None and spec.categorical
                columns[schema_name] = CategoricalColumn.from_rows(
                    _strings(data), separator="|" if categorical else None
                )
        return cls(ids, columns, raw, names, generation)

    def aligned(self, vocab: Vocabulary) -> AlignedColumns:
        """The columns re-ordered to ``vocab`` (e.g. a model's items); unknown ids → missing."""
        positions = self.ids.indices(vocab.ids())
        return AlignedColumns(
            positions, {name: take_rows(col, positions) for name, col in self.columns.items()}
        )

    def metadata(self, row: int, columns: Sequence[str]) -> dict[str, str]:
        """``metadata`` of one row: column name → value as a string (lists joined with "|")."""
        out: dict[str, str] = {}
        if row < 0:
            return out
        for requested in columns:
            name = self.column_names.get(requested.upper())
            if name is None:
                continue
            value = self.raw[name][row].as_py() if name in self.raw.column_names else None
            if value is None:
                continue
            if isinstance(value, float) and value.is_integer():
                text = str(value)
            elif isinstance(value, list):
                text = "|".join(str(v) for v in value)
            else:
                text = str(value)
            out[requested] = text[:20_000]
        return out

    def numeric(self, name: str) -> npt.NDArray[np.float64] | None:
        column = self.columns.get(self.column_names.get(name.upper(), name))
        return column.values if isinstance(column, NumericColumn) else None


@dataclass(frozen=True, eq=False)
class AlignedColumns:
    positions: npt.NDArray[np.int64]  # (n,) row in the AttributeTable, -1 when absent
    columns: Mapping[str, Column]


def _newest(group: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.bool_]:
    """Rows among the last ``n`` of their group: rows are in time order within each group, and
    ``group`` (int64, (n_rows,)) is any key. Returns bool (n_rows,)."""
    order = np.argsort(group, kind="stable")  # stable: time order within each group
    ordered = group[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    rank_from_end = np.empty(len(group), dtype=np.int64)
    rank_from_end[order] = np.repeat(ends, ends - starts) - np.arange(len(group))
    out: npt.NDArray[np.bool_] = rank_from_end <= n
    return out


@dataclass(frozen=True, eq=False)
class HistoryTable:
    """The newest ``HISTORY_PER_USER`` bulk interactions of every user, and the newest
    ``HISTORY_PER_EVENT_TYPE`` of each of their event types, oldest first.

    ``indptr`` (n_users + 1,) int64 slices ``item_code`` / ``timestamp`` / ``type_code`` per user;
    ``item_code`` indexes ``item_ids``, ``type_code`` indexes ``event_types`` (-1: none).
    ``item_count`` / ``item_first_seen`` are over every bulk interaction, per ``item_ids`` entry.
    """

    users: Vocabulary
    indptr: npt.NDArray[np.int64]
    item_code: npt.NDArray[np.int64]
    timestamp: npt.NDArray[np.float64]
    type_code: npt.NDArray[np.int64]
    item_ids: Vocabulary
    event_types: tuple[str, ...]
    item_count: npt.NDArray[np.int64]
    item_first_seen: npt.NDArray[np.float64]
    latest_timestamp: float
    generation: int = 0
    # id(vocab) -> (vocab, codes): the vocabulary is held so that its id is not reused.
    _model_codes: dict[int, tuple[Vocabulary, npt.NDArray[np.int64]]] = field(default_factory=dict)

    @classmethod
    def empty(cls, generation: int = 0) -> HistoryTable:
        z = np.zeros(0, dtype=np.int64)
        return cls(
            Vocabulary(),
            np.zeros(1, dtype=np.int64),
            z,
            np.zeros(0, dtype=np.float64),
            z,
            Vocabulary(),
            (),
            z,
            np.zeros(0, dtype=np.float64),
            float("nan"),
            generation,
        )

    @classmethod
    def build(cls, table: pa.Table, generation: int = 0) -> HistoryTable:
        user_col, item_col = _find(table, "USER_ID"), _find(table, "ITEM_ID")
        ts_col, type_col = _find(table, "TIMESTAMP"), _find(table, "EVENT_TYPE")
        if user_col is None or item_col is None or ts_col is None or table.num_rows == 0:
            return cls.empty(generation)
        users, user_names = _codes(table[user_col])
        items, item_names = _codes(table[item_col])
        timestamps = _as_float(table[ts_col])
        if type_col is not None:
            types, type_names = _codes(table[type_col])
        else:
            types, type_names = np.full(table.num_rows, -1, dtype=np.int64), []
        ok = (users >= 0) & (items >= 0) & np.isfinite(timestamps)
        users, items, timestamps, types = users[ok], items[ok], timestamps[ok], types[ok]
        item_count = np.bincount(items, minlength=len(item_names)).astype(np.int64)
        first_seen = np.full(len(item_names), np.inf)
        np.minimum.at(first_seen, items, timestamps)
        first_seen[np.isinf(first_seen)] = np.nan
        order = np.lexsort((timestamps, users))
        users, items, timestamps, types = (
            users[order],
            items[order],
            timestamps[order],
            types[order],
        )
        keep = _newest(users, HISTORY_PER_USER) | _newest(
            users * (len(type_names) + 1) + (types + 1), HISTORY_PER_EVENT_TYPE
        )
        kept_counts = np.bincount(users[keep], minlength=len(user_names))
        return cls(
            Vocabulary(user_names),
            np.concatenate(([0], np.cumsum(kept_counts))).astype(np.int64),
            items[keep],
            timestamps[keep],
            types[keep],
            Vocabulary(item_names),
            tuple(type_names),
            item_count,
            first_seen,
            float(timestamps.max()) if len(timestamps) else float("nan"),
            generation,
        )

    def rows(self, user_id: str) -> slice:
        u = self.users.index(user_id)
        if u < 0:
            return slice(0, 0)
        return slice(int(self.indptr[u]), int(self.indptr[u + 1]))

    def model_codes(self, vocab: Vocabulary) -> npt.NDArray[np.int64]:
        """``item_code`` → index in ``vocab`` (-1 when the model does not know the item)."""
        cached = self._model_codes.get(id(vocab))
        if cached is not None and cached[0] is vocab:
            return cached[1]
        codes = vocab.indices(self.item_ids.ids())
        self._model_codes[id(vocab)] = (vocab, codes)
        return codes

    def counts_for(self, vocab: Vocabulary) -> npt.NDArray[np.float64]:
        """Bulk interaction counts per ``vocab`` item: (len(vocab),) float64."""
        out = np.zeros(len(vocab), dtype=np.float64)
        codes = self.model_codes(vocab)
        known = codes >= 0
        np.add.at(out, codes[known], self.item_count[known])
        return out

    def first_seen_for(self, vocab: Vocabulary) -> npt.NDArray[np.float64]:
        out = np.full(len(vocab), np.nan)
        codes = self.model_codes(vocab)
        known = codes >= 0
        out[codes[known]] = self.item_first_seen[known]
        return out
