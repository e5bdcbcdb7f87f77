"""Interactions of one block of users.

Each user makes ``count`` events. Events come from *visits*: a visit picks an item and yields the
preset's funnel (View, then maybe AddToCart, then maybe Purchase). A visit either follows one of the
previous item's successors (probability ``sequence_strength``) or draws afresh: a category from the
user's taste cluster, then an item of that category weighted by its popularity in that epoch.
Visits are grouped into sessions spread over the user's active period.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from openpersonalize.datasets.catalog import SUCCESSOR_CUMPROBS, Catalog
from openpersonalize.datasets.config import DAY, STREAM_INTERACTIONS, GeneratorConfig
from openpersonalize.datasets.presets import Preset
from openpersonalize.datasets.users import user_block

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

IN_SESSION_GAP = 90.0  # mean seconds between two visits of one session
FUNNEL_GAP = 40.0  # mean extra seconds between two funnel stages


def _exclusive_cumsum(counts: I64) -> I64:
    out = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


def _segment_cumsum(values: F64, segment_first: I64) -> F64:
    """Inclusive running sum of ``values`` restarting at each row's segment start row."""
    cum = np.cumsum(values)
    out: F64 = cum - cum[segment_first] + values[segment_first]
    return out


def _follow_chains(catalog: Catalog, item: I64, follow: npt.NDArray[np.bool_], slot: I64) -> None:
    """Fill ``item`` where ``follow``: the chosen successor slot of the previous row's item."""
    rows = np.arange(len(item))
    depth = rows - np.maximum.accumulate(np.where(follow, 0, rows))
    order = np.argsort(depth, kind="stable")
    bounds = np.cumsum(np.bincount(depth))
    for d in range(1, len(bounds)):
        at = order[bounds[d - 1] : bounds[d]]
        item[at] = catalog.successors[item[at - 1], slot[at]]


def interaction_batch(
    config: GeneratorConfig, catalog: Catalog, preset: Preset, block: int
) -> pa.RecordBatch:
    """The Interactions rows of ``block``, ordered by user and then (mostly) by time."""
    users = user_block(config, catalog, preset, block)
    rng = config.rng(STREAM_INTERACTIONS, block)
    m = len(users.cluster)
    total = config.block_interactions(block)
    floor_each = min(2, total // m)
    counts = floor_each + rng.multinomial(
        total - floor_each * m, users.activity / users.activity.sum()
    )

    # Funnel depth of enough candidate visits, then keep each user's prefix reaching its count.
    n_stages = len(preset.event_types)
    depth = np.ones(total, dtype=np.int64)
    alive = np.ones(total, dtype=np.bool_)
    for probability in preset.continue_probs:
        alive &= rng.random(total) < probability
        depth += alive
    user = np.repeat(np.arange(m), counts)
    before = np.cumsum(depth) - depth
    before -= before[np.repeat(_exclusive_cumsum(counts), counts)]
    keep = before < counts[user]
    user = user[keep]
    n_events = np.minimum(depth[keep], counts[user] - before[keep])
    n_visits = len(user)
    visit_first = np.repeat(
        _exclusive_cumsum(np.bincount(user, minlength=m)), np.bincount(user, minlength=m)
    )
    is_first = np.arange(n_visits) == visit_first

    # stage_offset[s * n_visits + v]: seconds from visit v's first event to its stage s event.
    stage_offset = np.zeros(n_stages * n_visits)
    for s in range(1, n_stages):
        gap = (10.0 + rng.exponential(FUNNEL_GAP, n_visits)) * (n_events > s)
        stage_offset[s * n_visits : (s + 1) * n_visits] = (
            stage_offset[(s - 1) * n_visits : s * n_visits] + gap
        )
    funnel_length = stage_offset[(n_stages - 1) * n_visits :]

    # Sessions: starts spread like uniform order statistics over the user's active period.
    new_session = (rng.random(n_visits) < config.session_probability) | is_first
    gap = np.where(new_session, rng.exponential(1.0, n_visits), 0.0)
    span_units = np.bincount(user, weights=gap, minlength=m) + rng.exponential(1.0, m)
    session_start = users.active_from[user] + users.active_for[user] * (
        _segment_cumsum(gap, visit_first) / span_units[user]
    )
    previous_funnel = np.concatenate([[0.0], funnel_length[:-1]])
    step = np.where(new_session, 0.0, previous_funnel + rng.exponential(IN_SESSION_GAP, n_visits))
    rows = np.arange(n_visits)
    session_first = np.maximum.accumulate(np.where(new_session, rows, 0))
    visit_time = session_start + _segment_cumsum(step, session_first)
    span = config.days * DAY
    epoch = np.clip(
        ((visit_time - config.start_timestamp) * config.n_epochs // span).astype(np.int64),
        0,
        config.n_epochs - 1,
    )

    follow = (rng.random(n_visits) < config.sequence_strength) & ~is_first
    u_category, u_item, u_slot = rng.random((3, n_visits))
    item = np.zeros(n_visits, dtype=np.int64)
    fresh = ~follow
    category = catalog.sample_categories(users.cluster[user[fresh]], u_category[fresh])
    item[fresh] = catalog.sample_items(epoch[fresh], category, u_item[fresh])
    slot = np.zeros(n_visits, dtype=np.int64)
    for bound in SUCCESSOR_CUMPROBS[:-1]:
        slot += u_slot >= bound
    _follow_chains(catalog, item, follow, slot)

    visit = np.repeat(rows, n_events)
    stage = np.arange(len(visit)) - np.repeat(_exclusive_cumsum(n_events), n_events)
    timestamp = np.minimum(
        visit_time[visit] + stage_offset[stage * n_visits + visit], config.end_timestamp - 1
    ).astype(np.int64)
    columns: dict[str, pa.Array] = {
        "user_id": users.user_ids.take(pa.array(user[visit])),
        "item_id": catalog.item_ids.take(pa.array(item[visit])),
        "timestamp": pa.array(timestamp),
        "event_type": pa.array(preset.event_types, pa.string()).take(pa.array(stage)),
    }
    if any(f.role == "event_value" for f in preset.interactions):
        # Later funnel stages carry a value (e.g. the share of a film watched); the first has none.
        value = np.round(rng.beta(2.0, 1.2, len(visit)), 2).astype(np.float32)
        columns["event_value"] = pa.array(value, mask=stage == 0)
    schema = preset.arrow_schema("interactions")
    return pa.RecordBatch.from_arrays(
        [columns[f.role].cast(schema.field(f.name).type) for f in preset.interactions],
        schema=schema,
    )
