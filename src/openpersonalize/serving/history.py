"""A user's history at request time: bulk interactions plus the events that have just arrived.

The bulk part comes from the dataset group's :class:`~.tables.HistoryTable` (newest interactions
per user from imports); the real-time part from the server's event log
(``ctx.event_log.recent_interactions``), which holds every PutEvents whose call has returned. The
model sees both as one :class:`~openpersonalize.engine.base.History` (real-time recipes fold it in);
Interactions filters see both as ``(event_type, item_id)`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from openpersonalize.controlplane.context import Context
from openpersonalize.engine.base import History, Model
from openpersonalize.errors import PersonalizeError
from openpersonalize.filtering import event_type_key
from openpersonalize.serving.cache import GroupData
from openpersonalize.store.event_log import LogInUseError, RecentInteraction


class UserState:
    """A user's history for the model and, built on first use, their events for filters."""

    __slots__ = ("_events", "_names", "history")

    def __init__(
        self,
        history: History,
        events: tuple[tuple[str, str], ...] | None = None,
        names: Callable[[], tuple[tuple[str, str], ...]] | None = None,
    ) -> None:
        self.history = history  # model item indices, oldest first
        self._events = events
        self._names = names

    @property
    def events(self) -> tuple[tuple[str, str], ...]:
        """``(event_type, item_id)`` of every event, oldest first, items unknown to the model
        included (Interactions filters and automatic exclusions read them)."""
        if self._events is None:
            self._events = self._names() if self._names is not None else ()
        return self._events


def recent_events(ctx: Context, dataset_arn: str | None, user_id: str) -> list[RecentInteraction]:
    """Events of ``user_id`` recorded through PutEvents (oldest first); [] when there are none.

    Serving never creates a log. A log written before this process started is opened the way
    ingestion opens it (its schema-aware compaction), so the owner sees one consistent log."""
    if dataset_arn is None:
        return []
    log = ctx.event_log
    if log.opened(dataset_arn) is None:
        if not log.on_disk(dataset_arn):
            return []
        try:
            # Deferred import: ingestion owns how a dataset's log is opened.
            from openpersonalize.api.events import open_log
            from openpersonalize.controlplane.dataset_records import spec_for_arn

            open_log(ctx, spec_for_arn(ctx, dataset_arn))
        except (PersonalizeError, LogInUseError, OSError):
            return []
    try:
        return log.recent_interactions(dataset_arn, user_id)
    except (LogInUseError, OSError):
        return []


def user_state(
    ctx: Context, group: GroupData, model: Model, user_id: str | None, *, realtime: bool = True
) -> UserState:
    """The user's bulk history plus (``realtime``) the events recorded since through PutEvents.
    Batch jobs pass ``realtime=False``: they use real-time data only after retraining.

    Vectorised over the bulk history (item codes map to model indices through the table's
    cached code map); the id strings that filters need are built only when they are asked for."""
    if not user_id:
        return UserState(History.empty(), ())
    hist = group.history
    rows = hist.rows(user_id)
    codes = hist.item_code[rows]
    timestamps = hist.timestamp[rows]
    types = hist.type_code[rows]
    idx = hist.model_codes(model.items)[codes]
    recent = []
    if realtime:
        recent = [e for e in recent_events(ctx, group.interactions_arn, user_id) if e.item_id]
    type_names = (*hist.event_types, "")  # type code -1: no EVENT_TYPE column
    if recent:
        idx = np.concatenate([idx, model.items.indices([str(e.item_id) for e in recent])])
        timestamps = np.concatenate([timestamps, [e.timestamp for e in recent]])
        order = np.argsort(timestamps, kind="stable")  # bulk before real time on equal times
        idx, timestamps = idx[order], timestamps[order]
    else:
        order = None

    def names() -> tuple[tuple[str, str], ...]:
        item_id = hist.item_ids.id
        pairs = zip(types.tolist(), codes.tolist(), strict=True)
        bulk = [(type_names[t], item_id(c)) for t, c in pairs]
        merged = bulk + [(e.event_type, str(e.item_id)) for e in recent]
        return tuple(merged if order is None else [merged[i] for i in order.tolist()])

    known = idx >= 0
    events = names() if recent else None
    if events is not None:
        event_type = tuple(e[0] for e, k in zip(events, known.tolist(), strict=True) if k)
    else:
        event_type = tuple(map(type_names.__getitem__, types[known].tolist()))
    history = History(
        item_idx=idx[known],
        timestamp=timestamps[known].astype(np.float64, copy=False),
        event_type=event_type,
        user_idx=model.users.index(user_id),
    )
    return UserState(history, events, names)


def items_with_event(state: UserState, event_type: str, limit: int = 100) -> list[str]:
    """Ids of the user's newest ``limit`` items with events of ``event_type`` ("*" = any);
    event types match case-insensitively."""
    wanted = event_type_key(event_type)
    out: list[str] = []
    for kind, item_id in reversed(state.events):
        if wanted == "*" or event_type_key(kind) == wanted:
            out.append(item_id)
            if len(out) >= limit:
                break
    return out
