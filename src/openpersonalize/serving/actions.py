"""GetActionRecommendations for aws-next-best-action campaigns.

A request: the user's item interactions (bulk history + PutEvents) and action interactions (those
known at training + PutActionInteractions) → propensity of every action → automatic rules
(expired actions and REPEAT_FREQUENCY suppression, which filters cannot reference) → ActionID
filter over Actions attributes and the user's Action_Interactions → top-k with VALUE as the
tie-break. Scores are the propensities, 0..1.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from openpersonalize.controlplane.context import Context
from openpersonalize.engine.recipes.next_best_action import ActionHistory, NextBestAction
from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering import (
    CategoricalColumn,
    Column,
    FilterData,
    NumericColumn,
    bind,
    compile_mask,
    event_type_key,
)
from openpersonalize.serving.history import recent_events
from openpersonalize.serving.selection import top_k

# Event type names as stored in a model's action history.
TAKEN_NAME, OTHER_NAME = "TAKEN", "NOT_TAKEN"


def _dataset_arn(ctx: Context, group_arn: str, dataset_type: str) -> str | None:
    for dataset in ctx.store.select("dataset", dataset_group=group_arn):
        if dataset.deleted_at is None and dataset.body.get("datasetType") == dataset_type:
            return dataset.arn
    return None


def action_history(
    ctx: Context, model: NextBestAction, group: Any, user_id: str | None
) -> tuple[ActionHistory, list[tuple[str, str]]]:
    """The user's state and their action interactions as ``(event_type, action_id)`` for
    filters, oldest first."""
    if not user_id:
        return ActionHistory.empty(), []
    hist = group.history
    rows = hist.rows(user_id)
    item_ids = [hist.item_ids.id(c) for c in hist.item_code[rows].tolist()]
    for event in recent_events(ctx, group.interactions_arn, user_id):
        if event.item_id is not None:
            item_ids.append(event.item_id)
    stored = model.stored_history(user_id)
    events = [
        (float(t), int(a), bool(k))
        for a, t, k in zip(
            stored.action_idx.tolist(),
            stored.action_timestamp.tolist(),
            stored.taken.tolist(),
            strict=True,
        )
    ]
    names = [(TAKEN_NAME if k else OTHER_NAME, model.items.id(a)) for _, a, k in events]
    arn = _dataset_arn(ctx, group.arn, "Action_Interactions")
    for event in recent_events(ctx, arn, user_id) if arn else []:
        a = model.items.index(event.item_id) if event.item_id else -1
        key = event_type_key(event.event_type)
        if a >= 0:
            events.append((event.timestamp, a, key == "taken"))
        if event.item_id:
            names.append((event.event_type, event.item_id))
    state = ActionHistory(
        model.item_vocab.indices(item_ids),
        np.asarray([e[1] for e in events], dtype=np.int64),
        np.asarray([e[0] for e in events], dtype=np.float64),
        np.asarray([e[2] for e in events], dtype=np.bool_),
    )
    return state, names


def action_attributes(ctx: Context, group_arn: str, model: NextBestAction) -> dict[str, Column]:
    """The Actions dataset's columns aligned with the model's actions (for ActionID filters)."""
    from openpersonalize.controlplane import dataset_records

    arn = _dataset_arn(ctx, group_arn, "Actions")
    if arn is None:
        return {}
    table = dataset_records.read(ctx, arn)
    id_column = next((c for c in table.column_names if c.upper() == "ACTION_ID"), None)
    if id_column is None:
        return {}
    ids = [None if v is None else str(v) for v in table[id_column].to_pylist()]
    row_of = {action_id: r for r, action_id in enumerate(ids) if action_id is not None}
    positions = [row_of.get(a, -1) for a in model.items.ids()]
    out: dict[str, Column] = {}
    for name in table.column_names:
        if name == id_column:
            continue
        values = table[name].to_pylist()
        picked = [values[p] if p >= 0 else None for p in positions]
        if all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in picked
        ):
            out[name] = NumericColumn.from_rows(picked)
        else:
            out[name] = CategoricalColumn.from_rows(
                [None if v is None else str(v) for v in picked], separator="|"
            )
    return out


def recommend_actions(
    ctx: Context, req: Any, params: Mapping[str, Any], n: int
) -> list[dict[str, Any]]:
    """``req``: the resolved :class:`~openpersonalize.serving.recommend.Request`."""
    model = req.model
    if not isinstance(model, NextBestAction):
        raise InvalidInputException(f"{req.dep.arn} does not serve a next-best-action model.")
    state, names = action_history(ctx, model, req.group, req.user_id)
    scores = model.score_actions([state], time.time())[0]
    if params.get("filterArn"):
        validated = req.validated(str(params["filterArn"]))
        targets = {e.target.value for e in validated.expression.expressions}
        if targets and targets != {"ActionID"}:
            raise InvalidInputException(
                f"Filter {params['filterArn']} filters {', '.join(sorted(targets))}; action "
                "recommendations need an ActionID filter."
            )
        keep = compile_mask(
            bind(validated, params.get("filterValues")),
            FilterData(
                n_candidates=len(model.items),
                attributes=action_attributes(ctx, req.dep.dataset_group, model),
                candidate_index=model.items,
                events=names,
                current_user=req.user_row() if validated.uses_current_user else None,
            ),
        )
        scores = np.where(keep, scores, np.float32(-np.inf)).astype(np.float32)
    chosen = top_k(model.rank_keys(scores[None, :])[0], n)
    return [
        {"actionId": model.items.id(int(i)), "score": float(np.clip(scores[i], 0.0, 1.0))}
        for i in chosen
    ]
