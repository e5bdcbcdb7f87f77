"""Actions and Action_Interactions records → :class:`~openpersonalize.engine.base.ActionData`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import ActionData
from openpersonalize.filtering import event_type_key

TAKEN = "taken"
# Action event types: Taken, Not Taken / NOT_TAKEN, Viewed (spelled several ways, spec C.6).
KNOWN_EVENT_TYPES = frozenset({"taken", "not_taken", "viewed"})


def _column(table: pa.Table, *names: str) -> pa.ChunkedArray | None:
    wanted = {n.upper() for n in names}
    for name in table.column_names:
        if name.upper() in wanted:
            return table[name]
    return None


def _floats(table: pa.Table, *names: str) -> npt.NDArray[np.float64]:
    column = _column(table, *names)
    if column is None:
        return np.full(table.num_rows, np.nan)
    try:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = np.asarray([_to_float(v) for v in column.to_pylist()], dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def _to_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _strings(table: pa.Table, name: str) -> list[str | None]:
    column = _column(table, name)
    if column is None:
        return [None] * table.num_rows
    return [None if v is None else str(v) for v in column.to_pylist()]


def build_action_data(actions: pa.Table, interactions: pa.Table | None) -> ActionData:
    """Actions (ACTION_ID, VALUE, EXPIRATION_TIMESTAMP, REPEAT_FREQUENCY …) and their
    interactions (USER_ID, ACTION_ID, EVENT_TYPE, TIMESTAMP). Later Actions records of one id win;
    interactions with unknown actions or event types are dropped."""
    vocab = Vocabulary()
    rows: dict[int, int] = {}
    for row, action_id in enumerate(_strings(actions, "ACTION_ID")):
        if action_id is not None:
            rows[vocab.add(action_id)] = row
    take = np.asarray([rows[i] for i in range(len(vocab))], dtype=np.int64)
    value = _floats(actions, "VALUE")[take] if len(take) else np.zeros(0)
    expiration = (
        _floats(actions, "EXPIRATION_TIMESTAMP", "ACTION_EXPIRATION_TIMESTAMP")[take]
        if len(take)
        else np.zeros(0)
    )
    repeat = _floats(actions, "REPEAT_FREQUENCY")[take] if len(take) else np.zeros(0)
    users = Vocabulary()
    user_idx: list[int] = []
    action_idx: list[int] = []
    times: list[float] = []
    taken: list[bool] = []
    if interactions is not None and interactions.num_rows:
        stamps = _floats(interactions, "TIMESTAMP")
        for user_id, action_id, event_type, ts in zip(
            _strings(interactions, "USER_ID"),
            _strings(interactions, "ACTION_ID"),
            _strings(interactions, "EVENT_TYPE"),
            stamps.tolist(),
            strict=True,
        ):
            a = vocab.index(action_id) if action_id is not None else -1
            key = event_type_key(event_type) if event_type is not None else ""
            if user_id is None or a < 0 or key not in KNOWN_EVENT_TYPES or not np.isfinite(ts):
                continue
            user_idx.append(users.add(user_id))
            action_idx.append(a)
            times.append(ts)
            taken.append(key == TAKEN)
    order = np.argsort(np.asarray(times, dtype=np.float64), kind="stable")
    return ActionData(
        actions=vocab,
        value=value,
        expiration=expiration,
        repeat_days=repeat,
        users=users,
        user_idx=np.asarray(user_idx, dtype=np.int64)[order],
        action_idx=np.asarray(action_idx, dtype=np.int64)[order],
        timestamp=np.asarray(times, dtype=np.float64)[order],
        taken=np.asarray(taken, dtype=np.bool_)[order],
    )
