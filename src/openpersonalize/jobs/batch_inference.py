"""The ``batch-inference-job`` job: recommendations for every line of JSON-lines input files.

CreateBatchInferenceJob leaves the job CREATE PENDING; a worker moves it to CREATE IN_PROGRESS,
answers every input line and ends ACTIVE (or CREATE FAILED with the reason: a missing or
oversized input, a model that does not load). Input lines per recipe type (spec §8.1):

* USER_PERSONALIZATION / POPULAR_ITEMS: ``{"userId": "4638"}``;
* RELATED_ITEMS: ``{"itemId": "105"}``;
* PERSONALIZED_RANKING: ``{"userId": "891", "itemList": ["27", "886", "101"]}``;

each optionally with ``"filterValues"`` for the job's ``filterArn``. Output lines are
``{"input": …, "output": {"recommendedItems": [...], "scores": [...]}, "error": null}`` —
``scores`` only for recipes that return them (user-personalization and personalized-ranking) —
or ``"error"`` with the reason for a line that cannot be answered; the job goes on.

Every line goes through serving's own code (:mod:`openpersonalize.serving.recommend`): the same
history, scores, automatic exclusions, filter masks, top-k, back-fill and exploration as
GetRecommendations / GetPersonalizedRanking, with the job's ``batchInferenceJobConfig`` in place
of a campaign's config. With exploration off (``explorationWeight`` "0") a batch line equals the
real-time answer for the same user and filter. Scoring is vectorised: :data:`CHUNK_LINES` users
at a time go through one ``score_users`` call (one matrix product for the factor models). As
Personalize documents, a batch job uses the users' bulk history: events recorded through
PutEvents count after the next training.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from openpersonalize.controlplane import catalog, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.engine.artifacts import ArtifactError, load_model
from openpersonalize.engine.recipes import RecipeNotAvailable
from openpersonalize.errors import PersonalizeError
from openpersonalize.jobs import runner
from openpersonalize.jobs.batch_io import Answer, Line, LineError, answer, open_batch, run_files
from openpersonalize.jobs.campaigns import ArtifactUnavailable, artifact_path
from openpersonalize.serving import ranking, recommend
from openpersonalize.serving.cache import Deployment, GroupData, serving_cache
from openpersonalize.store.metadata import Job

KIND = "batch-inference-job"
CHUNK_LINES = 512
# Chunks answered at once: the numeric half of the work runs in parallel on the 2 cores.
THREADS = 2
MAX_INPUT_LIST = recommend.MAX_RESULTS


def deployment(ctx: Context, job_arn: str, body: Mapping[str, Any]) -> Deployment:
    """The job's solution version as serving sees a campaign: model, recipe and config."""
    version_arn = str(body["solutionVersionArn"])
    try:
        path = artifact_path(ctx, version_arn)
        model = load_model(path)
    except ArtifactUnavailable as exc:
        raise runner.JobFailed(str(exc)) from None
    except (ArtifactError, RecipeNotAvailable, OSError, ValueError, KeyError) as exc:
        raise runner.JobFailed(
            f"The model of solution version {version_arn} cannot be loaded: {exc}"
        ) from None
    version = ctx.store.get(version_arn)
    recipe = catalog.recipe_from_arn(ctx, str(version.body["recipeArn"]))
    return Deployment(
        arn=job_arn,
        kind=KIND,
        dataset_group=str(version.dataset_group),
        recipe_name=recipe.name,
        recipe_type=recipe.recipe_type,
        domain_use_case=None,
        config=dict(body.get("batchInferenceJobConfig") or {}),
        artifact=path,
        model=model,
    )


def _id(value: dict[str, Any], key: str) -> str | None:
    raw = value.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise LineError(f"{key} must be a string.")
    text = str(raw)
    if not 1 <= len(text) <= 256:
        raise LineError(f"{key} must be 1 to 256 characters long.")
    return text


def line_params(value: dict[str, Any], dep: Deployment, body: Mapping[str, Any]) -> dict[str, Any]:
    """The GetRecommendations / GetPersonalizedRanking parameters of one input line."""
    params: dict[str, Any] = {"numResults": int(body.get("numResults") or 25)}
    user_id, item_id = _id(value, "userId"), _id(value, "itemId")
    if user_id is not None:
        params["userId"] = user_id
    if item_id is not None:
        params["itemId"] = item_id
    if body.get("filterArn"):
        params["filterArn"] = body["filterArn"]
    values = value.get("filterValues")
    if values is not None:
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            raise LineError('filterValues must be an object of strings, e.g. {"GENRE": "\\"x\\""}.')
        params["filterValues"] = values
    if dep.recipe_type == "PERSONALIZED_RANKING":
        items = value.get("itemList")
        if not isinstance(items, list) or not items:
            raise LineError("itemList (a list of item ids) is required for personalized ranking.")
        if len(items) > MAX_INPUT_LIST:
            raise LineError(f"itemList holds at most {MAX_INPUT_LIST} items, got {len(items)}.")
        if not all(isinstance(i, str | int) and not isinstance(i, bool) for i in items):
            raise LineError("itemList must be a list of item id strings.")
        params["inputList"] = [str(i) for i in items]
    return params


def output_of(entries: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"recommendedItems": [e["itemId"] for e in entries]}
    if any("score" in e for e in entries):
        out["scores"] = [e.get("score") for e in entries]
    return out


class BatchRecommender:
    """Answers chunks of input lines for one job (one deployment, one data snapshot)."""

    def __init__(self, ctx: Context, dep: Deployment, group: GroupData, body: Mapping[str, Any]):
        self.ctx, self.dep, self.group, self.body = ctx, dep, group, body
        self.ranking = dep.recipe_type == "PERSONALIZED_RANKING"
        self.seed = zlib.crc32(dep.arn.encode())

    def request(self, line: Line) -> recommend.Request | ranking.Plan:
        """The line's request (personalized ranking) or its ranking plan (the others),
        resolved now so that errors land on this line."""
        assert line.value is not None
        params = line_params(line.value, self.dep, self.body)
        req = recommend.Request(
            self.ctx, params, deployment=self.dep, group=self.group, realtime=False
        )
        if self.ranking:
            recommend.check_ranking(req)
            _ = req.state
            return req
        recommend.check_inputs(self.dep, req.user_id, req.item_id)
        n_results = int(params["numResults"])
        if n_results > recommend.MAX_RESULTS:
            raise LineError(f"numResults must be at most {recommend.MAX_RESULTS}.")
        if self.dep.recipe_type != "RELATED_ITEMS":
            _ = req.state
        return ranking.plan(req, n_results, None)

    def handle(self, chunk: list[Line]) -> Iterator[Answer]:
        answers: list[Answer | None] = [None] * len(chunk)
        pending: list[tuple[int, recommend.Request | ranking.Plan]] = []
        for pos, line in enumerate(chunk):
            if line.value is None:
                answers[pos] = answer(line, None, line.error)
                continue
            try:
                pending.append((pos, self.request(line)))
            except (LineError, PersonalizeError) as exc:
                answers[pos] = answer(line, None, _message(exc))
        outputs = self._ranked(pending) if self.ranking else self._recommended(pending)
        for (pos, _), output in zip(pending, outputs, strict=True):
            if isinstance(output, PersonalizeError):
                answers[pos] = answer(chunk[pos], None, _message(output))
            else:
                answers[pos] = answer(chunk[pos], output)
        for item in answers:
            assert item is not None
            yield item

    def _recommended(
        self, pending: list[tuple[int, recommend.Request | ranking.Plan]]
    ) -> list[dict[str, Any] | PersonalizeError]:
        plans = [p for _, p in pending if isinstance(p, ranking.Plan)]
        ids = self.dep.model.items.ids
        out: list[dict[str, Any] | PersonalizeError] = []
        for chosen in ranking.choose_batch(plans, self._rng(plans)):
            if isinstance(chosen, PersonalizeError):
                out.append(chosen)
                continue
            output: dict[str, Any] = {"recommendedItems": ids(chosen.items.tolist())}
            if chosen.values is not None and chosen.items.size:
                output["scores"] = chosen.values.tolist()
            out.append(output)
        return out

    def _rng(self, plans: list[ranking.Plan]) -> np.random.Generator:
        """Exploration's draws for one chunk: seeded by the job and the chunk's first user, so
        that a job's output does not depend on which thread answered which chunk."""
        first = (plans[0].req.user_id or plans[0].req.item_id) if plans else None
        return np.random.default_rng([self.seed, zlib.crc32(str(first).encode())])

    def _ranked(
        self, pending: list[tuple[int, recommend.Request | ranking.Plan]]
    ) -> list[dict[str, Any] | PersonalizeError]:
        reqs = [r for _, r in pending if isinstance(r, recommend.Request)]
        if not reqs:
            return []
        matrix = self.dep.model.score_users([r.state.history for r in reqs])
        out: list[dict[str, Any] | PersonalizeError] = []
        for row, req in enumerate(reqs):
            try:
                items = recommend.ranking_input(req, None)
                scores = np.array(matrix[row], dtype=np.float32)
                out.append(output_of(recommend.rank_input_list(req, items, scores, None)))
            except PersonalizeError as exc:
                out.append(exc)
        return out


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, PersonalizeError) else str(exc)


@runner.job(KIND)
def run_batch_inference(ctx: Context, job: Job) -> None:
    resource = ctx.store.get(job.arn)
    if resource.status not in (lifecycle.CREATE_PENDING, lifecycle.CREATE_IN_PROGRESS):
        return  # a retried job whose work is done
    if resource.status == lifecycle.CREATE_PENDING:
        runner.start(ctx, job.arn)
    body = resource.body
    dep = deployment(ctx, job.arn, body)
    group = serving_cache(ctx).group(dep.dataset_group)
    batch = open_batch(ctx, body)
    recommender = BatchRecommender(ctx, dep, group, body)
    with threadpool_limits(limits=1, user_api="blas"):  # the chunks' threads share the cores
        progress = run_files(ctx, job.arn, batch, CHUNK_LINES, recommender.handle, threads=THREADS)
    ctx.store.update(job.arn, status=lifecycle.ACTIVE, body={"progress": progress.as_json()})
