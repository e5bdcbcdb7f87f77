"""GetRecommendations, GetPersonalizedRanking and GetActionRecommendations.

One request: the deployment's model → the user's history (bulk + just-arrived events) → scores for
every item → automatic exclusions (domain use cases) → filter mask → top-k → exploration slots →
promotions → scores (softmax over the candidates), metadata columns. See DESIGN §6.

This module checks and resolves requests; :mod:`.ranking` turns model scores into item lists for
a batch of requests at once, and :mod:`.batcher` gathers the requests that arrive together.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from openpersonalize.controlplane.context import Context
from openpersonalize.engine.base import Model
from openpersonalize.errors import InvalidInputException, PersonalizeError
from openpersonalize.filtering import (
    Dataset,
    DictIndex,
    FilterData,
    ValidatedFilter,
    bind,
    compile_mask,
    row_of,
)
from openpersonalize.serving import ranking
from openpersonalize.serving.batcher import Batcher, batcher
from openpersonalize.serving.cache import (
    Deployment,
    GroupData,
    ModelView,
    ServingCache,
    serving_cache,
)
from openpersonalize.serving.history import UserState, user_state
from openpersonalize.serving.selection import softmax_scores
from openpersonalize.serving.tables import take_rows
from openpersonalize.wire.serialize import Shaped

DEFAULT_RESULTS = 25
MAX_RESULTS = 500
MAX_RESULTS_WITH_METADATA = 50
MAX_METADATA_COLUMNS = 10
DEFAULT_ACTIONS = 5
MAX_ACTIONS = 100
# Domain use cases: (userId required, itemId required).
DOMAIN_INPUTS = {
    "aws-vod-because-you-watched-x": (True, True),
    "aws-vod-more-like-x": (True, True),
    "aws-vod-top-picks": (True, False),
    "aws-ecomm-customers-who-viewed-x-also-viewed": (True, True),
    "aws-ecomm-recommended-for-you": (True, False),
    "aws-ecomm-frequently-bought-together": (False, True),
}
_MASK_CACHE_SIZE = 512

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


def recommendation_id() -> str:
    return "RID-" + str(uuid.uuid4())


def _deployment(cache: ServingCache, params: Mapping[str, Any]) -> Deployment:
    campaign, recommender = params.get("campaignArn"), params.get("recommenderArn")
    if campaign and recommender:
        raise InvalidInputException("Provide either campaignArn or recommenderArn, not both.")
    if not campaign and not recommender:
        raise InvalidInputException("A campaignArn or a recommenderArn is required.")
    return cache.deployment(str(campaign or recommender))


def _num_results(params: Mapping[str, Any], metadata: bool) -> int:
    value = params.get("numResults")
    n = DEFAULT_RESULTS if value is None else int(value)
    limit = MAX_RESULTS_WITH_METADATA if metadata else MAX_RESULTS
    if n > limit:
        extra = " when metadataColumns are requested" if metadata else ""
        raise InvalidInputException(f"numResults must be at most {limit}{extra}, got {n}.")
    return n


def _metadata_columns(
    dep: Deployment, group: GroupData, params: Mapping[str, Any]
) -> list[str] | None:
    requested = params.get("metadataColumns")
    if not requested:
        return None
    unknown = sorted(k for k in requested if k != "ITEMS")
    if unknown:
        raise InvalidInputException(
            f"metadataColumns supports the ITEMS dataset only, not {', '.join(unknown)}."
        )
    if not dep.metadata_enabled:
        raise InvalidInputException(
            f"{dep.arn} was not created with enableMetadataWithRecommendations: metadata columns "
            "are not available."
        )
    columns = [str(c) for c in requested.get("ITEMS") or []]
    if len(columns) > MAX_METADATA_COLUMNS:
        raise InvalidInputException(
            f"At most {MAX_METADATA_COLUMNS} metadata columns per request, got {len(columns)}."
        )
    if group.items is None:
        raise InvalidInputException("The dataset group has no Items dataset for metadataColumns.")
    missing = [c for c in columns if c.upper() not in group.items.column_names]
    if missing:
        raise InvalidInputException(
            f"Unknown Items column(s) in metadataColumns: {', '.join(missing)}."
        )
    return columns


def check_inputs(dep: Deployment, user_id: str | None, item_id: str | None) -> None:
    kind = dep.recipe_type
    noun = "recommender" if dep.kind == "recommender" else "campaign"
    if kind == "PERSONALIZED_RANKING":
        raise InvalidInputException(
            f"{dep.arn} is a personalized-ranking {noun}: call GetPersonalizedRanking."
        )
    if kind == "PERSONALIZED_ACTIONS":
        raise InvalidInputException(
            f"{dep.arn} is a next-best-action {noun}: call GetActionRecommendations."
        )
    if kind not in ("USER_PERSONALIZATION", "RELATED_ITEMS", "POPULAR_ITEMS"):
        raise InvalidInputException(
            f"{dep.arn} serves recipe {dep.recipe_name} ({kind}), which has no real-time "
            "recommendations; use a batch segment job."
        )
    need_user, need_item = DOMAIN_INPUTS.get(
        dep.recipe_name, (kind == "USER_PERSONALIZATION", kind == "RELATED_ITEMS")
    )
    if need_user and not user_id:
        raise InvalidInputException(
            f"userId is required for {dep.recipe_name} ({kind}) recommendations."
        )
    if need_item and not item_id:
        raise InvalidInputException(
            f"itemId is required for {dep.recipe_name} ({kind}) recommendations."
        )


class Request:
    """What one request has resolved: deployment, data snapshot, user state."""

    def __init__(
        self,
        ctx: Context,
        params: Mapping[str, Any],
        *,
        deployment: Deployment | None = None,
        group: GroupData | None = None,
        realtime: bool = True,
    ) -> None:
        """``deployment`` / ``group`` given: a batch job's (no campaign to resolve);
        ``realtime`` False: the user's bulk history only (batch jobs, spec §1.17)."""
        self.ctx = ctx
        self.cache = serving_cache(ctx)
        self.params = params
        self.dep = deployment if deployment is not None else _deployment(self.cache, params)
        self.model: Model = self.dep.model
        self.group = group if group is not None else self.cache.group(self.dep.dataset_group)
        self.view: ModelView = self.group.view(self.model)
        self.user_id: str | None = params.get("userId") or None
        self.item_id: str | None = params.get("itemId") or None
        self.realtime = realtime
        self._state: UserState | None = None

    @property
    def state(self) -> UserState:
        if self._state is None:
            self._state = user_state(
                self.ctx, self.group, self.model, self.user_id, realtime=self.realtime
            )
        return self._state

    def user_row(self) -> dict[str, Any] | None:
        users = self.group.users
        if users is None or not self.user_id:
            return None
        r = users.ids.index(self.user_id)
        return row_of(users.columns, r) if r >= 0 else None

    def item_row(self) -> dict[str, Any] | None:
        items = self.group.items
        if items is None or not self.item_id:
            return None
        r = items.ids.index(self.item_id)
        return row_of(items.columns, r) if r >= 0 else None

    def validated(self, filter_arn: str) -> ValidatedFilter:
        related = self.dep.recipe_type == "RELATED_ITEMS"
        return self.cache.filter(filter_arn, self.dep.dataset_group, related_items=related)

    def item_penalty(self, filter_arn: str, values: Mapping[str, str] | None) -> FloatArray:
        """An ItemID filter over the model's items as scores to add: 0 where it keeps an item,
        ``-inf`` where it drops it ((n_items,) float32; adding it is one vectorised pass, ten
        times cheaper than a masked write). Cached per filter and values when the filter reads
        item attributes only."""
        validated = self.validated(filter_arn)
        targets = {e.target.value for e in validated.expression.expressions}
        if targets and targets != {"ItemID"}:
            raise InvalidInputException(
                f"Filter {filter_arn} filters {', '.join(sorted(targets))}; item "
                "recommendations need an ItemID filter."
            )
        static = not (
            validated.uses_current_item
            or validated.uses_current_user
            or any(f.dataset in (Dataset.INTERACTIONS,) for f in validated.fields)
        )
        key = None
        cache = self.view.penalties
        if static:
            key = (filter_arn, tuple(sorted((values or {}).items())))
            cached = cache.get(key)
            if cached is not None:
                return cached  # bound and compiled before for these values
        bound = bind(validated, values)
        data = FilterData(
            n_candidates=len(self.model.items),
            attributes=self.view.items.columns,
            candidate_index=self.model.items,
            events=self.state.events if self.user_id else (),
            current_user=self.user_row() if validated.uses_current_user else None,
            current_item=self.item_row() if validated.uses_current_item else None,
        )
        keep = compile_mask(bound, data)
        penalty = np.zeros(keep.shape[0], dtype=np.float32)
        penalty[~keep] = -np.inf
        if key is not None:
            if len(cache) >= _MASK_CACHE_SIZE:
                cache.clear()
            penalty.setflags(write=False)
            cache[key] = penalty
        return penalty

    def metadata(self, item_id: str, columns: Sequence[str]) -> dict[str, str]:
        items = self.group.items
        if items is None:
            return {}
        return items.metadata(items.ids.index(item_id), columns)


def _writable(scores: npt.NDArray[Any]) -> FloatArray:
    return np.array(scores, dtype=np.float32, copy=True).reshape(-1)


def _user_scores(reqs: Sequence[Request]) -> list[FloatArray]:
    """Each request's model scores of every item, (n_items,) float32, one model call."""
    matrix = reqs[0].model.score_users([r.state.history for r in reqs])
    return [_writable(matrix[row]) for row in range(len(reqs))]


_RNG = threading.local()


def _rng() -> np.random.Generator:
    """A generator per thread, seeded from the OS once (seeding per request cost ~0.1 ms)."""
    rng: np.random.Generator | None = getattr(_RNG, "rng", None)
    if rng is None:
        rng = _RNG.rng = np.random.default_rng()
    return rng


def recommendation_plan(ctx: Context, params: Mapping[str, Any]) -> ranking.Plan:
    """A GetRecommendations request checked and resolved (deployment, history, filter masks)."""
    req = Request(ctx, params)
    check_inputs(req.dep, req.user_id, req.item_id)
    columns = _metadata_columns(req.dep, req.group, params)
    n_results = _num_results(params, columns is not None)
    if req.dep.recipe_type != "RELATED_ITEMS":
        _ = req.state  # the history, read on the request's own thread (its errors stay its own)
    return ranking.plan(req, n_results, columns)


def _rank(plans: Sequence[ranking.Plan]) -> list[list[dict[str, Any]] | PersonalizeError]:
    return ranking.rank_batch(plans, _rng())


def _recommendations(
    plan: ranking.Plan,
) -> Batcher[ranking.Plan, list[dict[str, Any]] | PersonalizeError]:
    """The batcher that ranks ``plan`` together with the requests for the same model that
    arrive meanwhile (:mod:`openpersonalize.serving.batcher`)."""
    return batcher(plan.req.view, "recommend/" + plan.req.dep.recipe_type, _rank)


def get_recommendations(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    plan = recommendation_plan(ctx, params)
    item_list = _recommendations(plan).submit(plan)
    assert not isinstance(item_list, PersonalizeError)
    return Shaped(itemList=item_list, recommendationId=recommendation_id())


async def get_recommendations_async(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`get_recommendations` for the event loop. A request whose deployment, data and
    filters are in memory is resolved on the loop itself (no thread hand-off); one that needs a
    load or a refresh first is resolved on a worker thread, so that the loop never waits on I/O."""
    if serving_cache(ctx).ready(params):
        plan = recommendation_plan(ctx, params)
    else:
        plan = await asyncio.to_thread(recommendation_plan, ctx, params)
    item_list = await _recommendations(plan).submit_async(plan)
    assert not isinstance(item_list, PersonalizeError)
    return Shaped(itemList=item_list, recommendationId=recommendation_id())


def get_personalized_ranking(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    req = Request(ctx, params)
    check_ranking(req)
    columns = _metadata_columns(req.dep, req.group, params)
    input_list = ranking_input(req, columns)
    _ = req.state
    all_scores = batcher(req.view, "ranking", _user_scores).submit(req)
    ranking = rank_input_list(req, input_list, all_scores, columns)
    return {"personalizedRanking": ranking, "recommendationId": recommendation_id()}


def check_ranking(req: Request) -> None:
    dep = req.dep
    if dep.recipe_type != "PERSONALIZED_RANKING":
        raise InvalidInputException(
            f"{dep.arn} serves {dep.recipe_name} ({dep.recipe_type}); GetPersonalizedRanking "
            "needs a PERSONALIZED_RANKING campaign."
        )
    if not req.user_id:
        raise InvalidInputException("userId is required for GetPersonalizedRanking.")


def ranking_input(req: Request, columns: list[str] | None) -> list[str]:
    """The request's inputList without duplicates, checked against the size limit."""
    input_list = list(dict.fromkeys(str(i) for i in req.params.get("inputList") or []))
    limit = MAX_RESULTS_WITH_METADATA if columns is not None else MAX_RESULTS
    if len(input_list) > limit:
        raise InvalidInputException(f"inputList holds at most {limit} items.")
    return input_list


def rank_input_list(
    req: Request, input_list: list[str], all_scores: FloatArray, columns: list[str] | None
) -> list[dict[str, Any]]:
    """The filtered ``input_list`` ranked by ``all_scores`` ((n_items,) float32, the user's
    scores of every model item); items unknown to the model last, unscored."""
    model, params = req.model, req.params
    keep = np.ones(len(input_list), dtype=np.bool_)
    if params.get("filterArn"):
        validated = req.validated(str(params["filterArn"]))
        bound = bind(validated, params.get("filterValues"))
        attributes = {}
        if req.group.items is not None:
            positions = req.group.items.ids.indices(input_list)
            attributes = {
                name: take_rows(col, positions) for name, col in req.group.items.columns.items()
            }
        keep = compile_mask(
            bound,
            FilterData(
                n_candidates=len(input_list),
                attributes=attributes,
                candidate_index=DictIndex.of(input_list),
                events=req.state.events,
                current_user=req.user_row() if validated.uses_current_user else None,
            ),
        )
    idx = model.items.indices(input_list)
    known = (idx >= 0) & keep
    known_pos = np.flatnonzero(known)
    local = all_scores[idx[known_pos]] if known_pos.size else np.zeros(0, dtype=np.float32)
    order = np.lexsort((known_pos, -local))
    values = softmax_scores(local, order.astype(np.int64))
    ranking: list[dict[str, Any]] = []
    for rank, o in enumerate(order.tolist()):
        entry: dict[str, Any] = {"itemId": input_list[int(known_pos[o])]}
        if type(model).returns_scores:
            entry["score"] = float(values[rank])
        ranking.append(entry)
    for pos in np.flatnonzero((idx < 0) & keep).tolist():
        ranking.append({"itemId": input_list[pos]})  # unknown to the model: last, unscored
    if columns is not None:
        for entry in ranking:
            entry["metadata"] = req.metadata(entry["itemId"], columns)
    return ranking


def get_action_recommendations(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    req = Request(ctx, params)
    dep = req.dep
    if dep.recipe_type != "PERSONALIZED_ACTIONS":
        raise InvalidInputException(
            f"{dep.arn} serves {dep.recipe_name} ({dep.recipe_type}); GetActionRecommendations "
            "needs an aws-next-best-action campaign."
        )
    value = params.get("numResults")
    n = DEFAULT_ACTIONS if value is None else int(value)
    if n > MAX_ACTIONS:
        raise InvalidInputException(f"numResults must be at most {MAX_ACTIONS}, got {n}.")
    from openpersonalize.serving.actions import recommend_actions

    actions = recommend_actions(ctx, req, params, n)
    return {"actionList": actions, "recommendationId": recommendation_id()}
