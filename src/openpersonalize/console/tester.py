"""The recommendation tester (GetRecommendations / GetPersonalizedRanking, then a PutEvents and
what it changed) and the live view of an event tracker's incoming events."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from starlette.responses import Response

from openpersonalize.console import insights, ops
from openpersonalize.console.views import GroupTree, group_arn_of, load_group
from openpersonalize.console.web import Req, as_json, format_time, render
from openpersonalize.controlplane import catalog, lifecycle
from openpersonalize.errors import InvalidInputException, PersonalizeError
from openpersonalize.wire import models

RUNTIME = models.RUNTIME
EVENTS = models.EVENTS
MAX_METADATA_COLUMNS = 6
LIVE_EVENTS = 50


@dataclass
class Target:
    arn: str
    name: str
    kind: str  # campaign | recommender
    recipe: str
    recipe_type: str

    @property
    def ranking(self) -> bool:
        return self.recipe_type == "PERSONALIZED_RANKING"

    @property
    def related(self) -> bool:
        return self.recipe_type == "RELATED_ITEMS"


@dataclass
class Outcome:
    items: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    recommendation_id: str | None = None
    error: PersonalizeError | None = None
    ran: bool = False


def targets(tree: GroupTree) -> list[Target]:
    found: list[Target] = []
    recipes = {s.solution["solutionArn"]: s.recipe for s in tree.solutions}
    for campaign in tree.campaigns:
        if campaign.get("status") != lifecycle.ACTIVE:
            continue
        version = str(campaign.get("solutionVersionArn", ""))
        recipe = recipes.get(version.rsplit("/", 1)[0], "")
        kind = catalog.RECIPES_BY_NAME.get(recipe)
        found.append(
            Target(
                campaign["campaignArn"],
                campaign["name"],
                "campaign",
                recipe,
                kind.recipe_type if kind else "",
            )
        )
    for recommender in tree.recommenders:
        if recommender.get("status") != lifecycle.ACTIVE:
            continue
        recipe = str(recommender.get("recipeArn", "")).rsplit("/", 1)[-1]
        kind = catalog.RECIPES_BY_NAME.get(recipe)
        found.append(
            Target(
                recommender["recommenderArn"],
                recommender["name"],
                "recommender",
                recipe,
                kind.recipe_type if kind else "",
            )
        )
    return found


def parse_filter_values(text: str) -> dict[str, str]:
    """``NAME=value`` lines (values as Personalize takes them, e.g. ``"Comedy","Drama"``)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise InvalidInputException(
                f'Filter value {line!r} must look like NAME="value" (one per line).'
            )
        values[name.strip()] = value.strip()
    return values


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def run_target(req: Req, target: Target, params: dict[str, str], tree: GroupTree) -> Outcome:
    outcome = Outcome(ran=True)
    try:
        body: dict[str, Any] = {}
        if params.get("filterArn"):
            body["filterArn"] = params["filterArn"]
            filter_values = parse_filter_values(params.get("filterValues", ""))
            if filter_values:
                body["filterValues"] = filter_values
        if target.ranking:
            body.update(
                campaignArn=target.arn,
                userId=params.get("userId", ""),
                inputList=_split_list(params.get("inputList", "")),
            )
            response = ops.rest(req.ctx, RUNTIME, "GetPersonalizedRanking", body)
            outcome.items = list(response.get("personalizedRanking", []))
        else:
            key = "campaignArn" if target.kind == "campaign" else "recommenderArn"
            body[key] = target.arn
            if params.get("userId"):
                body["userId"] = params["userId"]
            if params.get("itemId"):
                body["itemId"] = params["itemId"]
            number = params.get("numResults", "")
            if number:
                body["numResults"] = int(number) if number.isdigit() else number
            response = ops.rest(req.ctx, RUNTIME, "GetRecommendations", body)
            outcome.items = list(response.get("itemList", []))
        outcome.recommendation_id = response.get("recommendationId")
        outcome.columns = attach_metadata(req, tree, outcome.items)
    except PersonalizeError as exc:
        outcome.error = exc
    return outcome


def attach_metadata(req: Req, tree: GroupTree, items: list[dict[str, Any]]) -> list[str]:
    """Item metadata from the Items dataset onto each result (``item["attributes"]``)."""
    dataset = tree.dataset("Items")
    if dataset is None or not items:
        return []
    ids = [str(item.get("itemId")) for item in items]
    try:
        table = insights.read_table(req.ctx, dataset["datasetArn"])
    except Exception:  # metadata is a nicety: the results stand without it
        return []
    if "ITEM_ID" not in table.column_names or table.num_rows == 0:
        return []
    rows = table.filter(pc.is_in(table["ITEM_ID"], value_set=pa.array(ids, pa.string())))
    columns = [c for c in table.column_names if c != "ITEM_ID"][:MAX_METADATA_COLUMNS]
    by_id = {row["ITEM_ID"]: row for row in rows.to_pylist()}
    for item in items:
        row = by_id.get(str(item.get("itemId")), {})
        item["attributes"] = {c: _short(row.get(c)) for c in columns}
    return columns


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = format_time(value) if isinstance(value, int) and value > 10**9 else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def diff(before: Outcome, after: Outcome) -> dict[str, Any]:
    """What a PutEvents changed: items that entered, left, and rank moves."""
    old = [str(i.get("itemId")) for i in before.items]
    new = [str(i.get("itemId")) for i in after.items]
    old_rank = {item: rank for rank, item in enumerate(old)}
    moves = {}
    for rank, item in enumerate(new):
        if item in old_rank:
            moves[item] = old_rank[item] - rank  # positive: moved up
    return {
        "entered": [i for i in new if i not in old_rank],
        "left": [i for i in old if i not in set(new)],
        "moves": moves,
        "changed": old != new,
    }


def tester(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    choices = targets(tree)
    params = dict(req.query)
    params.update(req.form)
    selected = next((t for t in choices if t.arn == params.get("target")), None)
    before = after = Outcome()
    changes: dict[str, Any] | None = None
    event_error: PersonalizeError | None = None
    sent: dict[str, Any] | None = None
    if selected is not None and (params.get("userId") or params.get("itemId")):
        before = run_target(req, selected, params, tree)
        if req.method == "POST" and req.form.get("action") == "put-event":
            try:
                sent = put_event(req, tree, params)
                after = run_target(req, selected, params, tree)
                changes = diff(before, after)
            except PersonalizeError as exc:
                event_error = exc
    elif req.query.get("target") and selected is None:
        before = Outcome(
            ran=True,
            error=InvalidInputException("Choose an ACTIVE campaign or recommender of this group."),
        )
    return render(
        req,
        "tester.html",
        title="Recommendation tester",
        tree=tree,
        choices=choices,
        selected=selected,
        params=params,
        before=before,
        after=after,
        changes=changes,
        sent=sent,
        event_error=event_error,
        tracker=tree.trackers[0] if tree.trackers else None,
        runtime_ready=ops.rest_available(RUNTIME, "GetRecommendations"),
        events_ready=ops.rest_available(EVENTS, "PutEvents"),
        current_group=tree.name,
        section="tester",
    )


def put_event(req: Req, tree: GroupTree, params: dict[str, str]) -> dict[str, Any]:
    if not tree.trackers:
        raise InvalidInputException(
            "This dataset group has no event tracker: create one to send events."
        )
    user_id = params.get("userId", "")
    if not user_id:
        raise InvalidInputException("Sending an event needs a user id.")
    event: dict[str, Any] = {
        "eventType": params.get("eventType") or "click",
        "itemId": params.get("eventItemId") or None,
        "sentAt": time.time(),
        "eventId": str(uuid.uuid4()),
    }
    value = params.get("eventValue", "")
    if value:
        try:
            event["eventValue"] = float(value)
        except ValueError:
            raise InvalidInputException(f"eventValue must be a number, got {value!r}.") from None
    event = {k: v for k, v in event.items() if v is not None}
    body = {
        "trackingId": tree.trackers[0]["trackingId"],
        "userId": user_id,
        "sessionId": params.get("sessionId") or f"console-{user_id}",
        "eventList": [event],
    }
    ops.rest(req.ctx, EVENTS, "PutEvents", body)
    return event


# -- live events ----------------------------------------------------------------------------------


def recent_events(req: Req, tree: GroupTree, limit: int = LIVE_EVENTS) -> dict[str, Any]:
    """The newest real-time interactions (PutEvents) of the group, newest first."""
    dataset = tree.dataset("Interactions")
    out: dict[str, Any] = {"events": [], "total": 0, "dataset": None}
    if dataset is None:
        return out
    out["dataset"] = dataset["datasetArn"]
    try:
        from openpersonalize.controlplane import dataset_records

        table = dataset_records.read(req.ctx, dataset["datasetArn"], source="PUT")
    except Exception as exc:  # shown, never fatal: the page keeps polling
        out["error"] = str(exc)
        return out
    out["total"] = table.num_rows
    if table.num_rows == 0:
        return out
    start = max(0, table.num_rows - limit * 4)
    rows = table.slice(start).to_pylist()
    with contextlib.suppress(TypeError):
        rows.sort(key=lambda r: r.get("TIMESTAMP") or 0)
    events = []
    for row in reversed(rows[-limit:]):
        events.append(
            {
                "time": format_time(row.get("TIMESTAMP")),
                "userId": row.get("USER_ID") or "",
                "itemId": row.get("ITEM_ID") or "",
                "eventType": row.get("EVENT_TYPE") or "",
                "eventValue": row.get("EVENT_VALUE"),
            }
        )
    out["events"] = events
    return out


def live_events(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    feed = recent_events(req, tree)
    return render(
        req,
        "events.html",
        title="Live events",
        tree=tree,
        feed=feed,
        tracker=tree.trackers[0] if tree.trackers else None,
        current_group=tree.name,
        section="events",
    )


def events_feed(req: Req) -> Response:
    group_arn = req.ctx.arns.make("dataset-group", req.query.get("group", ""))
    tree = load_group(req.ctx, group_arn)
    feed = recent_events(req, tree)
    return as_json(feed)
