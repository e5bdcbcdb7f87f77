"""From model scores to item lists, for a batch of requests of one deployment at a time.

Shared by GetRecommendations (the requests that arrive together, :mod:`.batcher`) and batch
inference jobs (a chunk of input lines). One request's steps (DESIGN §6): scores of every item →
automatic exclusions (domain use cases) → filter mask → promotions → top-k → exploration slots
→ scores (softmax over the candidates) → metadata columns.

Everything that reads the request's own state — its history, its filter masks — is resolved
beforehand into a :class:`Plan` on the request's own thread, so that its errors stay its own.
The work over all items is done for the whole batch: one model call, one top-k pass
(:func:`~.selection.top_k_rows`) and one softmax pass (:func:`~.selection.softmax_normalisers`);
what is left per request is proportional to its list, not to the catalogue.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from openpersonalize.errors import InvalidInputException, PersonalizeError
from openpersonalize.serving.cache import ModelView, exploration_settings
from openpersonalize.serving.history import items_with_event
from openpersonalize.serving.selection import (
    EXPLORATION_POOL,
    exploration_slots,
    explore,
    promote,
    softmax_normalisers,
    softmax_scores,
    top_k,
    top_k_rows,
)

if TYPE_CHECKING:
    from openpersonalize.serving.recommend import Request

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The domain use cases that drop what the user already watched / purchased (spec §3.1).
AUTOMATIC_EXCLUSION = {
    "aws-vod-because-you-watched-x": "Watch",
    "aws-vod-more-like-x": "Watch",
    "aws-vod-top-picks": "Watch",
    "aws-ecomm-customers-who-viewed-x-also-viewed": "Purchase",
    "aws-ecomm-recommended-for-you": "Purchase",
}
EXCLUSION_DEPTH = 100
EXPLORATION_TYPES = ("USER_PERSONALIZATION",)
V2_RECIPES = ("aws-user-personalization-v2", "aws-personalized-ranking-v2")


@dataclass(frozen=True)
class Promotion:
    name: str
    count: int  # promoted items in a list of the request's length
    penalty: FloatArray  # of the promotion's filter (Request.item_penalty)


@dataclass(frozen=True)
class Plan:
    """One request, resolved: everything :func:`rank_batch` needs besides the model scores."""

    req: Request
    n_results: int
    columns: list[str] | None  # metadataColumns of the Items dataset
    penalty: FloatArray | None  # of the request's filter (Request.item_penalty)
    excluded: IntArray  # items the use case drops automatically (already watched / purchased)
    promotion: Promotion | None


def plan(req: Request, n_results: int, columns: list[str] | None) -> Plan:
    """Resolves ``req`` (history, filter masks, promotion) on the caller's thread."""
    params = req.params
    filter_penalty = None
    if params.get("filterArn"):
        filter_penalty = req.item_penalty(str(params["filterArn"]), params.get("filterValues"))
    return Plan(
        req=req,
        n_results=n_results,
        columns=columns,
        penalty=filter_penalty,
        excluded=_excluded(req),
        promotion=_promotion(req, n_results),
    )


def _excluded(req: Request) -> IntArray:
    event_type = AUTOMATIC_EXCLUSION.get(req.dep.recipe_name)
    if event_type is None or not req.user_id:
        return np.zeros(0, dtype=np.int64)
    idx = req.model.items.indices(items_with_event(req.state, event_type, EXCLUSION_DEPTH))
    return idx[idx >= 0]


def _promotion(req: Request, n_results: int) -> Promotion | None:
    """The request's promotion (spec §5.5), checked: one at most, with a filter and a
    percentage of 1–100. Every recipe type that GetRecommendations serves takes promotions."""
    promotions = req.params.get("promotions") or []
    if not promotions:
        return None
    if len(promotions) > 1:
        raise InvalidInputException("At most one promotion per request.")
    promotion = promotions[0]
    if not promotion.get("filterArn"):
        raise InvalidInputException("A promotion needs a filterArn.")
    percent = int(promotion.get("percentPromotedItems", 0))
    if not 1 <= percent <= 100:
        raise InvalidInputException("percentPromotedItems must be between 1 and 100.")
    count = min(n_results, max(1, int(n_results * percent / 100 + 0.5)))
    penalty = req.item_penalty(str(promotion["filterArn"]), promotion.get("filterValues"))
    return Promotion(str(promotion.get("name") or ""), count, penalty)


def base_scores(reqs: Sequence[Request]) -> tuple[FloatArray, BoolArray]:
    """Scores of every model item for each request (all of one deployment), one model call:
    ((len(reqs), n_items) float32, writable; (len(reqs),) bool: model scores, False where the
    row is the popularity fallback)."""
    model, dep, view = reqs[0].model, reqs[0].dep, reqs[0].view
    m, n = len(reqs), len(model.items)
    if dep.recipe_type == "RELATED_ITEMS":
        idx = np.asarray(
            [model.items.index(r.item_id) if r.item_id else -1 for r in reqs], dtype=np.int64
        )
        known = np.flatnonzero(idx >= 0)
        out = np.empty((m, n), dtype=np.float32)
        out[idx < 0] = view.popularity  # an item the model never saw: popular items (spec §2.2)
        if known.size:
            out[known] = model.score_related(idx[known])
            out[known, idx[known]] = -np.inf
        return out, idx >= 0
    histories = [r.state.history for r in reqs]
    try:
        if type(model).scores_into:
            matrix = model.score_users(histories, out=scratch((m, n)))  # type: ignore[call-arg]
        else:
            matrix = np.array(model.score_users(histories), dtype=np.float32, order="C")
    except NotImplementedError:
        return np.tile(view.popularity, (m, 1)), np.zeros(m, dtype=np.bool_)
    return matrix, np.ones(m, dtype=np.bool_)


_SCRATCH = threading.local()
SCRATCH_LIMIT = 64 << 20  # bytes a thread keeps between batches


def scratch(shape: tuple[int, int]) -> FloatArray:
    """A float32 buffer of ``shape`` reused by the calling thread from batch to batch (so it
    stays in cache and costs no page faults). Valid until the thread's next call; larger than
    :data:`SCRATCH_LIMIT`: a new array each time."""
    size = shape[0] * shape[1]
    if size * 4 > SCRATCH_LIMIT:
        return np.empty(shape, dtype=np.float32)
    buffer: FloatArray | None = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = _SCRATCH.buffer = np.empty(size, dtype=np.float32)
    return buffer[:size].reshape(shape)


def _exploration_eligible(view: ModelView, cutoff: float) -> tuple[BoolArray, IntArray]:
    """Items young enough to explore: bool (n_items,) and their indices, once per view and
    cut-off."""
    found = view.exploration.get(cutoff)
    if found is None:
        age = view.latest_timestamp - view.creation
        eligible = np.isnan(age) | (age <= cutoff)
        eligible.setflags(write=False)
        found = view.exploration[cutoff] = (eligible, np.flatnonzero(eligible))
    return found


@dataclass
class _Row:
    """One request's state between the batch passes."""

    plan: Plan
    weight: float = 0.0  # explorationWeight
    cutoff: float = 0.0  # explorationItemAgeCutOff, seconds
    base: FloatArray | None = None  # unfiltered scores, kept when a promotion needs them
    promoted: IntArray | None = None
    depth: int = 0
    explores: bool = False
    error: PersonalizeError | None = None


@dataclass
class Chosen:
    """One request's answer: model item indices in list order and their scores."""

    items: IntArray
    values: npt.NDArray[np.float64] | None  # softmax scores; None when the recipe has none
    promoted: set[int]
    explored: set[int]


def rank_batch(
    plans: Sequence[Plan], rng: np.random.Generator
) -> list[list[dict[str, Any]] | PersonalizeError]:
    """Item lists (GetRecommendations ``itemList`` entries) for ``plans``, in order; a request
    that fails gets its error in its place. See :func:`choose_batch`."""
    return [
        c if isinstance(c, PersonalizeError) else item_entries(p, c)
        for p, c in zip(plans, choose_batch(plans, rng), strict=True)
    ]


def choose_batch(
    plans: Sequence[Plan], rng: np.random.Generator
) -> list[Chosen | PersonalizeError]:
    """The answers for ``plans`` (one model view and recipe type; each request keeps its own
    deployment's configuration), in order; a request that fails gets its error in its place."""
    if not plans:
        return []
    scores, model_scored = base_scores([p.req for p in plans])
    settings: dict[int, tuple[float, float]] = {}
    rows: list[_Row] = []
    for r, p in enumerate(plans):
        dep = p.req.dep
        found = settings.get(id(dep))
        if found is None:
            found = settings[id(dep)] = exploration_settings(dep.config)
        row = _Row(p, *found)
        try:
            _prepare_row(row, scores[r], bool(model_scored[r]))
        except PersonalizeError as exc:
            row.error = exc
        rows.append(row)
    ranked_all = top_k_rows(scores, max(row.depth for row in rows))

    out: list[Chosen | PersonalizeError] = []
    for r, row in enumerate(rows):
        if row.error is not None:
            out.append(row.error)
            continue
        try:
            out.append(_choose(row, scores[r], ranked_all[r], rng))
        except PersonalizeError as exc:
            out.append(exc)
    _add_scores(rows, out, scores, model_scored, ranked_all)
    return out


def _with_scores(req: Request, model_scored: bool) -> bool:
    return model_scored and type(req.model).returns_scores and req.dep.kind != "recommender"


def _prepare_row(row: _Row, scores: FloatArray, model_scored: bool) -> None:
    """Exclusions, filter and promotion applied to the row's ``scores`` (in place), and how deep
    its top-k must reach."""
    p = row.plan
    dep, view = p.req.dep, p.req.view
    scores[p.excluded] = -np.inf
    if p.promotion is not None:
        row.base = scores.copy()
    if p.penalty is not None:
        np.add(scores, p.penalty, out=scores)
    n_regular = p.n_results
    if p.promotion is not None:
        assert row.base is not None
        promo = row.base + p.promotion.penalty
        row.promoted = top_k(promo, p.promotion.count)[: p.n_results]
        scores[row.promoted] = -np.inf  # never twice in one list
        n_regular -= row.promoted.size
    row.explores = bool(
        row.weight > 0
        and dep.recipe_type in EXPLORATION_TYPES
        and model_scored
        and n_regular > 0
        and np.isfinite(view.latest_timestamp)
    )
    # Deeper than the list when exploring, so that explore() finds its pool in it.
    extra = 4 * EXPLORATION_POOL * exploration_slots(n_regular, row.weight)
    row.depth = n_regular + extra if row.explores else n_regular


def _choose(row: _Row, scores: FloatArray, ranked: IntArray, rng: np.random.Generator) -> Chosen:
    """Exploration slots and promoted items placed in the row's list."""
    p = row.plan
    promoted = row.promoted if row.promoted is not None else np.zeros(0, dtype=np.int64)
    n_regular = p.n_results - promoted.size
    ranked = ranked[: row.depth]
    explored: set[int] = set()
    if row.explores:
        eligible, eligible_idx = _exploration_eligible(p.req.view, row.cutoff)
        if eligible_idx.size:
            ranked, explored = explore(
                ranked, scores, eligible, n_regular, row.weight, rng, eligible_idx
            )
        else:
            ranked = ranked[:n_regular]  # nothing young enough to explore
    final, promoted_set = promote(ranked, promoted, p.n_results, rng)
    return Chosen(final, None, promoted_set, explored)


def _add_scores(
    rows: list[_Row],
    chosen: list[Chosen | PersonalizeError],
    scores: FloatArray,
    model_scored: BoolArray,
    ranked_all: list[IntArray],
) -> None:
    """Softmax scores over each row's candidates: the normalisers in one pass over the batch,
    the scores of every listed item in one vectorised step. Rows with a promotion (scored
    against their unfiltered scores too) or without a usable normaliser take the exact path."""
    m = len(rows)
    tops = np.zeros(m, dtype=np.float32)
    fast = np.zeros(m, dtype=np.bool_)
    for r, row in enumerate(rows):
        c = chosen[r]
        if isinstance(c, Chosen) and _with_scores(row.plan.req, bool(model_scored[r])):
            if row.promoted is None and ranked_all[r].size:
                tops[r], fast[r] = scores[r, ranked_all[r][0]], True
            else:
                c.values = _exact_scores(row, scores[r], c)
    if not fast.any():
        return
    denominators = softmax_normalisers(scores, tops)
    usable = fast & np.isfinite(denominators) & (denominators > 0) & np.isfinite(tops)
    fast_rows = np.flatnonzero(usable)
    lists = [cast_chosen(chosen[r]).items for r in fast_rows.tolist()]
    counts = np.array([a.shape[0] for a in lists], dtype=np.int64)
    owner = np.repeat(fast_rows, counts)
    cols = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    picked = scores[owner, cols].astype(np.float64)
    top = tops[owner].astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        values = np.exp(picked - top) / denominators[owner]
    values = np.clip(np.where(np.isfinite(picked), values, 0.0), 0.0, 1.0)
    for r, part in zip(fast_rows.tolist(), np.split(values, np.cumsum(counts)[:-1]), strict=True):
        cast_chosen(chosen[r]).values = part
    for r in np.flatnonzero(fast & ~usable).tolist():
        c = cast_chosen(chosen[r])
        c.values = softmax_scores(scores[r], c.items)


def cast_chosen(value: Chosen | PersonalizeError) -> Chosen:
    assert isinstance(value, Chosen)
    return value


def _exact_scores(row: _Row, scores: FloatArray, c: Chosen) -> npt.NDArray[np.float64]:
    values = softmax_scores(scores, c.items)
    if c.promoted:
        # Promoted items are outside the filtered candidates; score them against the base set.
        assert row.base is not None
        promo_values = softmax_scores(row.base, c.items)
        values = np.where([int(i) in c.promoted for i in c.items], promo_values, values)
    return values


def item_entries(p: Plan, c: Chosen) -> list[dict[str, Any]]:
    """GetRecommendations ``itemList`` entries of one answer, in wire form already (the
    response is :class:`~openpersonalize.wire.serialize.Shaped`): strings, floats, lists of
    strings and string maps, no ``None``."""
    req, dep = p.req, p.req.dep
    v2 = dep.recipe_name in V2_RECIPES
    promotion_name = p.promotion.name if p.promotion is not None else None
    ids = req.model.items.ids(c.items.tolist())
    value_list = c.values.tolist() if c.values is not None else None
    item_list: list[dict[str, Any]] = []
    for pos, idx in enumerate(c.items.tolist()):
        entry: dict[str, Any] = {"itemId": ids[pos]}
        if value_list is not None:
            entry["score"] = value_list[pos]
        if idx in c.promoted:
            entry["promotionName"] = promotion_name
            if v2:
                entry["reason"] = ["Promoted item"]
        elif idx in c.explored and v2:
            entry["reason"] = ["Exploration"]
        if p.columns is not None:
            entry["metadata"] = req.metadata(entry["itemId"], p.columns)
        item_list.append(entry)
    return item_list
