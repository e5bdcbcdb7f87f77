"""External ids ↔ contiguous indices.

``user_id`` / ``item_id`` are the strings clients send; ``user_idx`` / ``item_idx`` are positions in
the arrays of a model. The mapping is made once, at the edge, and stored with every model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt


class Vocabulary:
    """An ordered set of string ids; index ``i`` is the ``i``-th distinct id as first seen."""

    __slots__ = ("_ids", "_index")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        for external_id in ids:
            self.add(external_id)

    @classmethod
    def from_array(cls, ids: npt.ArrayLike) -> Vocabulary:
        return cls(str(x) for x in np.asarray(ids, dtype=object))

    def add(self, external_id: str) -> int:
        idx = self._index.get(external_id)
        if idx is None:
            idx = len(self._ids)
            self._index[external_id] = idx
            self._ids.append(external_id)
        return idx

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._ids == other._ids

    def __hash__(self) -> int:
        return hash(tuple(self._ids))

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids)"

    def index(self, external_id: str) -> int:
        """The index of ``external_id``, or -1 when unknown."""
        return self._index.get(external_id, -1)

    def indices(self, external_ids: Iterable[str]) -> npt.NDArray[np.int64]:
        """Indices of many ids at once; unknown ids map to -1. Shape (n,), int64."""
        get = self._index.get
        return np.fromiter((get(x, -1) for x in external_ids), dtype=np.int64)

    def id(self, idx: int) -> str:
        return self._ids[idx]

    def ids(self, idx: Sequence[int] | npt.NDArray[np.integer] | None = None) -> list[str]:
        """Ids for the given indices (all ids when ``idx`` is None)."""
        if idx is None:
            return list(self._ids)
        ids = self._ids
        return [ids[int(i)] for i in idx]

    def to_array(self) -> npt.NDArray[np.str_]:
        """The ids as a numpy unicode array (for ``npz`` storage without pickle)."""
        if not self._ids:
            return np.array([], dtype="<U1")
        return np.array(self._ids, dtype=str)
