"""What a filter is evaluated against: the candidates' attributes and the requesting user's state.

Serving builds one :class:`FilterData` per request (the column objects are shared, built once
per loaded model / dataset snapshot; only the history and current rows change per request).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

DEFAULT_HISTORY_DEPTH = 100

RowValue = tuple[str, ...] | float | None
"""One cell: the values of a string / categorical column (``()`` or None when empty), or a
number (NaN or None when missing)."""


def event_type_key(event_type: str) -> str:
    """Event types match case-insensitively, and ``Not Taken`` / ``NOT_TAKEN`` / ``not-taken``
    are one type (AWS spells action event types all three ways)."""
    return re.sub(r"[\s_-]+", "_", event_type.strip()).casefold()


@dataclass(frozen=True, eq=False)
class CategoricalColumn:
    """A string column in CSR form: row ``r`` holds ``codes[indptr[r]:indptr[r+1]]``.

    ``indptr``: int64 (n_rows + 1,); ``codes``: int64 (nnz,), indices into ``vocab``. Used for
    categorical columns (several ``|``-separated values per row) and plain strings (one each).
    """

    indptr: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int64]
    vocab: tuple[str, ...]
    code_of: Mapping[str, int]

    @classmethod
    def from_rows(
        cls, rows: Iterable[str | Sequence[str] | None], *, separator: str | None = "|"
    ) -> CategoricalColumn:
        """Build from one entry per row: a string (split on ``separator`` unless it is None),
        a sequence of strings, or None / "" for missing."""
        code_of: dict[str, int] = {}
        indptr = [0]
        codes: list[int] = []
        for row in rows:
            if row is None or row == "":
                parts: Sequence[str] = ()
            elif isinstance(row, str):
                parts = row.split(separator) if separator else (row,)
            else:
                parts = row
            for part in parts:
                codes.append(code_of.setdefault(part, len(code_of)))
            indptr.append(len(codes))
        return cls(
            np.asarray(indptr, dtype=np.int64),
            np.asarray(codes, dtype=np.int64),
            tuple(code_of),
            code_of,
        )

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row(self, r: int) -> tuple[str, ...]:
        return tuple(self.vocab[c] for c in self.codes[self.indptr[r] : self.indptr[r + 1]])


@dataclass(frozen=True, eq=False)
class NumericColumn:
    """A numeric column: float64 (n_rows,), NaN where missing. Timestamps are epoch seconds."""

    values: npt.NDArray[np.float64]

    @classmethod
    def from_rows(cls, rows: Iterable[float | None]) -> NumericColumn:
        return cls(np.asarray([math.nan if v is None else v for v in rows], dtype=np.float64))

    @property
    def n_rows(self) -> int:
        return len(self.values)

    def row(self, r: int) -> float:
        return float(self.values[r])


Column = CategoricalColumn | NumericColumn


class IdIndex(Protocol):
    """External id → candidate position, -1 when not a candidate (``data.vocab.Vocabulary``
    fits when the candidates are the whole catalogue in vocabulary order)."""

    def index(self, external_id: str) -> int: ...


@dataclass(frozen=True)
class DictIndex:
    """An :class:`IdIndex` over an explicit list of candidate ids (e.g. an inputList)."""

    positions: Mapping[str, int]

    @classmethod
    def of(cls, ids: Iterable[str]) -> DictIndex:
        return cls({external_id: i for i, external_id in enumerate(ids)})

    def index(self, external_id: str) -> int:
        return self.positions.get(external_id, -1)


@dataclass(frozen=True)
class FilterData:
    """Everything a filter may look at, for one request.

    ``attributes``: columns of the target's dataset (Items for ItemID, Actions for ActionID,
        Users for UserID filters), keyed by schema column name, each with ``n_candidates`` rows
        aligned with the candidates. A column that is absent counts as missing everywhere.
    ``candidate_index``: maps the ids in ``events`` to candidate positions.
    ``events``: the requesting user's interactions with the target kind (item interactions for
        ItemID, action interactions for ActionID) as ``(event_type, id)``, oldest first: the
        stored history followed by events that have just arrived through PutEvents.
    ``history_depth``: only the latest this many events of each event type count.
    ``candidate_event_types``: for UserID filters on Interactions: the event types each candidate
        user has recorded (n_candidates rows).
    ``current_user``: the requesting user's Users row (for IF CurrentUser), None when unknown.
    ``current_item``: the request item's Items row (for CurrentItem), None when there is none.
    """

    n_candidates: int
    attributes: Mapping[str, Column] = dataclasses.field(default_factory=dict)
    candidate_index: IdIndex | None = None
    events: Sequence[tuple[str, str]] = ()
    history_depth: int = DEFAULT_HISTORY_DEPTH
    candidate_event_types: CategoricalColumn | None = None
    current_user: Mapping[str, RowValue] | None = None
    current_item: Mapping[str, RowValue] | None = None

    def __post_init__(self) -> None:
        # A programming error in the caller, not bad user input: fail loudly.
        for name, column in self.attributes.items():
            if column.n_rows != self.n_candidates:
                raise ValueError(
                    f"column {name} has {column.n_rows} rows, expected {self.n_candidates}"
                )
        if (
            self.candidate_event_types is not None
            and self.candidate_event_types.n_rows != self.n_candidates
        ):
            raise ValueError("candidate_event_types is not aligned with the candidates")


def row_of(attributes: Mapping[str, Column], r: int) -> dict[str, RowValue]:
    """Row ``r`` of a table, e.g. the request item's row for ``FilterData.current_item``."""
    return {name: column.row(r) for name, column in attributes.items()}


def recent_events_by_type(events: Sequence[tuple[str, str]], depth: int) -> dict[str, list[str]]:
    """The latest ``depth`` ids per event type key, newest first."""
    out: dict[str, list[str]] = {}
    for event_type, target_id in reversed(events):
        ids = out.setdefault(event_type_key(event_type), [])
        if len(ids) < depth:
            ids.append(target_id)
    return out
