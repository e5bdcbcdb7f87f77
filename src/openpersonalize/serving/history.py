"""A user's history at request time: bulk interactions plus the events that have just arrived.

The bulk part comes from the dataset group's :class:`~.tables.HistoryTable` (newest interactions
per user from imports); the real-time part from the server's event log
(``ctx.event_log.recent_interactions``), which holds every PutEvents whose call has returned. The
model sees both as one :class:`~openpersonalize.engine.base.History` (real-time recipes fold it in);
Interactions filters see both as ``(event_type, item_id)`` pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import numpy as np

from openpersonalize.controlplane.context import Context
from openpersonalize.engine.base import History, Model
from openpersonalize.errors import PersonalizeError
from openpersonalize.filtering import event_type_key
from openpersonalize.serving.cache import GroupData
from openpersonalize.store.event_log import LogInUseError, RecentInteraction


@dataclass(frozen=True)
class UserState:
    history: History  # model item indices, oldest first
    events: tuple[tuple[str, str], ...]  # (event_type, item_id), oldest first, for filters


def recent_events(ctx: Context, dataset_arn: str | None, user_id: str) -> list[RecentInteraction]:
    """Events of ``user_id`` recorded through PutEvents (oldest first); [] when there are none.

    Serving never creates a log. A log written before this process started is opened the way
    ingestion opens it (its schema-aware compaction), so the owner sees one consistent log."""
    if dataset_arn is None:
        return []
    log = ctx.event_log
    if dataset_arn not in log.dataset_ids():
        if not (log.root / quote(dataset_arn, safe="-_.")).is_dir():
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
    Batch jobs pass ``realtime=False``: they use real-time data only after retraining."""
    if not user_id:
        return UserState(History.empty(), ())
    hist = group.history
    rows = hist.rows(user_id)
    codes = hist.item_code[rows]
    bulk_ts = hist.timestamp[rows]
    bulk_types = hist.type_code[rows]
    type_names = hist.event_types
    events: list[tuple[float, str, str]] = []
    item_names = hist.item_ids
    for code, ts, t in zip(codes.tolist(), bulk_ts.tolist(), bulk_types.tolist(), strict=True):
        events.append((ts, type_names[t] if t >= 0 else "", item_names.id(code)))
    recent = recent_events(ctx, group.interactions_arn, user_id) if realtime else []
    for event in recent:
        if event.item_id is not None:
            events.append((event.timestamp, event.event_type, event.item_id))
    events.sort(key=lambda e: e[0])
    items = model.items
    idx = np.fromiter((items.index(e[2]) for e in events), dtype=np.int64, count=len(events))
    known = idx >= 0
    history = History(
        item_idx=idx[known],
        timestamp=np.fromiter((e[0] for e in events), dtype=np.float64, count=len(events))[known],
        event_type=tuple(e[1] for e, k in zip(events, known.tolist(), strict=True) if k),
        user_idx=model.users.index(user_id),
    )
    return UserState(history, tuple((e[1], e[2]) for e in events))


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
