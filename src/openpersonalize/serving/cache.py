"""What the server process keeps in memory to answer runtime requests.

* Models, loaded once per artifact directory and shared by every campaign / recommender that
  serves it.
* Deployments: a campaign's or recommender's metadata row, re-read at most every
  ``row_ttl`` seconds. When the row names a new artifact (UpdateCampaign finished, a recommender
  retrained) the new model is loaded in the background while the old one keeps answering, then
  swapped in with one reference assignment: no request waits for a load or fails.
* Dataset-group data (:mod:`.tables`), rebuilt when a dataset's records change.
* Validated filters, by filter ARN.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from openpersonalize.controlplane import catalog, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.filter_schemas import group_schemas
from openpersonalize.data.schemas import AvroSchema, parse_schema
from openpersonalize.engine.artifacts import ArtifactError, load_model
from openpersonalize.engine.base import Model
from openpersonalize.engine.recipes import RecipeNotAvailable
from openpersonalize.errors import InvalidInputException, ResourceNotFoundException
from openpersonalize.filtering import ValidatedFilter, parse, validate
from openpersonalize.jobs.campaigns import ArtifactUnavailable, artifact_path
from openpersonalize.serving.tables import AlignedColumns, AttributeTable, HistoryTable

log = logging.getLogger("openpersonalize.serving")

ROW_TTL_SECONDS = 1.0
DATA_TTL_SECONDS = 2.0
# Shares of a TTL: from REVALIDATE_AT on, a background thread re-reads what a request uses
# (ServingCache.ready); from READY_MARGIN on, requests resolve on a worker thread instead of
# the event loop (a read in between would block the loop).
REVALIDATE_AT = 0.6
READY_MARGIN = 0.9
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, eq=False)
class Deployment:
    """A campaign or recommender as serving sees it: its model and its configuration."""

    arn: str
    kind: str  # "campaign" | "recommender"
    dataset_group: str
    recipe_name: str  # custom recipe (aws-sims) or domain use case (aws-vod-top-picks)
    recipe_type: str  # USER_PERSONALIZATION, RELATED_ITEMS, POPULAR_ITEMS, ...
    domain_use_case: str | None  # the use case's event type ("Watch", "*") for recommenders
    config: dict[str, Any]  # campaignConfig / recommenderConfig
    artifact: Path
    model: Model

    @property
    def metadata_enabled(self) -> bool:
        if self.config.get("enableMetadataWithRecommendations"):
            return True
        return self.recipe_name in (
            "aws-user-personalization-v2",
            "aws-personalized-ranking-v2",
            "aws-semantic-similarity",
        )


@dataclass(eq=False)
class _DeploymentEntry:
    deployment: Deployment | None
    checked: float
    error: Exception | None = None


@dataclass(frozen=True, eq=False)
class GroupData:
    """One dataset group's serving data; immutable, replaced as a whole on refresh."""

    arn: str
    interactions_arn: str | None
    items: AttributeTable | None
    users: AttributeTable | None
    history: HistoryTable
    generations: tuple[int, int, int]
    _views: dict[int, ModelView] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def has_view(self, model: Model) -> bool:
        view = self._views.get(id(model))
        return view is not None and view.model is model

    def view(self, model: Model) -> ModelView:
        """Item-aligned derived data for ``model`` (built once per model and snapshot)."""
        view = self._views.get(id(model))
        if view is not None and view.model is model:
            return view
        with self._lock:
            view = self._views.get(id(model))
            if view is None or view.model is not model:
                view = ModelView.build(model, self)
                self._views[id(model)] = view
        return view


@dataclass(frozen=True, eq=False)
class ModelView:
    """Data aligned with a model's item vocabulary (index = model item index)."""

    model: Model
    items: AlignedColumns  # Items attributes, for filters and CurrentItem
    popularity: npt.NDArray[np.float32]  # bulk interaction counts (fallback ranking)
    creation: npt.NDArray[np.float64]  # CREATION_TIMESTAMP, else first interaction; NaN unknown
    interaction_count: npt.NDArray[np.float64]
    latest_timestamp: float  # newest interaction in the dataset (exploration reference)
    history_codes: npt.NDArray[np.int64]  # HistoryTable.item_code -> model item index
    # Items young enough to explore, by explorationItemAgeCutOff: (mask, their indices).
    exploration: dict[float, tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]] = field(
        default_factory=dict
    )
    # Score penalties (0 kept, -inf dropped) of the filters that read item attributes only, by
    # (filter ARN, filter values): see Request.item_penalty.
    penalties: dict[tuple[Any, ...], npt.NDArray[np.float32]] = field(default_factory=dict)

    @classmethod
    def build(cls, model: Model, group: GroupData) -> ModelView:
        vocab = model.items
        n = len(vocab)
        if group.items is not None:
            aligned = group.items.aligned(vocab)
        else:
            aligned = AlignedColumns(np.full(n, -1, dtype=np.int64), {})
        counts = group.history.counts_for(vocab)
        first_seen = group.history.first_seen_for(vocab)
        model_first = getattr(model, "item_first_seen", None)
        if isinstance(model_first, np.ndarray) and model_first.shape == (n,):
            first_seen = np.where(np.isnan(first_seen), model_first, first_seen)
        model_counts = getattr(model, "item_interaction_count", None)
        if isinstance(model_counts, np.ndarray) and model_counts.shape == (n,):
            counts = np.maximum(counts, model_counts.astype(np.float64))
        creation = first_seen
        if group.items is not None:
            created = group.items.numeric("CREATION_TIMESTAMP")
            if created is not None:
                pos = aligned.positions
                from_items = np.where(pos >= 0, created[np.maximum(pos, 0)], np.nan)
                creation = np.where(np.isnan(from_items), first_seen, from_items)
        latest = group.history.latest_timestamp
        if not np.isfinite(latest):
            finite = first_seen[np.isfinite(first_seen)]
            latest = float(finite.max()) if finite.size else float("nan")
        return cls(
            model=model,
            items=aligned,
            popularity=counts.astype(np.float32),
            creation=creation,
            interaction_count=counts,
            latest_timestamp=float(latest),
            history_codes=group.history.model_codes(vocab),
        )


class ServingCache:
    """Per server process; thread-safe. Get it with :func:`serving_cache`."""

    def __init__(
        self,
        ctx: Context,
        *,
        row_ttl: float = ROW_TTL_SECONDS,
        data_ttl: float = DATA_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.row_ttl = row_ttl
        self.data_ttl = data_ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._models: dict[Path, Model] = {}
        self._loading: set[Path] = set()
        self._model_locks: dict[Path, threading.Lock] = {}
        self._deployments: dict[str, _DeploymentEntry] = {}
        self._groups: dict[str, tuple[float, GroupData]] = {}
        self._group_locks: dict[str, threading.Lock] = {}
        self._filters: dict[tuple[str, bool], tuple[str, ValidatedFilter]] = {}
        # (filter ARN, related items) -> (checked at, dataset group, validated filter)
        self._filter_checked: dict[tuple[str, bool], tuple[float, str, ValidatedFilter]] = {}
        self._revalidating: set[str] = set()  # deployments whose rows a thread re-reads

    # -- models ----------------------------------------------------------------------------------

    def model(self, path: Path) -> Model:
        """The model saved at ``path``, loaded on first use (one load per path at a time)."""
        model = self._models.get(path)
        if model is not None:
            return model
        with self._lock:
            lock = self._model_locks.setdefault(path, threading.Lock())
        with lock:
            model = self._models.get(path)
            if model is None:
                try:
                    # The campaign job verified the content hash already.
                    model = load_model(path, verify=False)
                except (ArtifactError, RecipeNotAvailable, OSError, ValueError, KeyError) as exc:
                    raise ArtifactUnavailable(
                        f"The model at {path} cannot be loaded: {exc}"
                    ) from None
                self._models[path] = model
        return model

    def _load_in_background(self, path: Path, arn: str) -> None:
        with self._lock:
            if path in self._loading:
                return
            self._loading.add(path)

        def run() -> None:
            try:
                self.model(path)
            except ArtifactUnavailable as exc:
                log.error("%s: cannot load the new model: %s", arn, exc)
            finally:
                with self._lock:
                    self._loading.discard(path)
                    entry = self._deployments.get(arn)
                    if entry is not None:
                        entry.checked = 0.0  # swap on the next request

        threading.Thread(target=run, name=f"load-model-{path.name[:8]}", daemon=True).start()

    # -- deployments -----------------------------------------------------------------------------

    def deployment(self, arn: str, *, max_age: float | None = None) -> Deployment:
        """The campaign or recommender ``arn``; ResourceNotFound / InvalidInput when unusable.
        Its row is re-read when the last read is ``max_age`` (default ``row_ttl``) seconds old."""
        ttl = self.row_ttl if max_age is None else max_age
        now = self.clock()
        entry = self._deployments.get(arn)
        if entry is not None and now - entry.checked < ttl:
            if entry.deployment is not None:
                return entry.deployment
            if entry.error is not None:
                raise entry.error
        previous = entry.deployment if entry is not None else None
        try:
            deployment = self._resolve(arn, previous)
        except (ResourceNotFoundException, InvalidInputException) as exc:
            self._deployments[arn] = _DeploymentEntry(None, now, exc)
            raise
        self._deployments[arn] = _DeploymentEntry(deployment, now)
        return deployment

    def _resolve(self, arn: str, previous: Deployment | None) -> Deployment:
        resource = self.ctx.store.find(arn)
        if (
            resource is None
            or resource.deleted_at is not None
            or resource.kind not in ("campaign", "recommender")
        ):
            raise ResourceNotFoundException.for_arn(arn)
        body = resource.body
        if resource.status != lifecycle.ACTIVE:
            noun = "Campaign" if resource.kind == "campaign" else "Recommender"
            raise InvalidInputException(
                f"{noun} {arn} is {resource.status}; it answers requests when ACTIVE."
            )
        domain_use_case: str | None = None
        try:
            if resource.kind == "campaign":
                version_arn = str(body.get("servingVersionArn") or body["solutionVersionArn"])
                path = artifact_path(self.ctx, version_arn)
                version = self.ctx.store.get(version_arn)
                recipe = catalog.RECIPES_BY_NAME.get(
                    str(version.body.get("recipeArn", "")).rsplit("/", 1)[-1]
                )
                config = dict(body.get("campaignConfig") or {})
            else:
                artifact = body.get("artifact")
                if not isinstance(artifact, str) or not artifact:
                    raise ArtifactUnavailable(f"Recommender {arn} has no trained model yet.")
                path = self.ctx.data_dir / artifact
                recipe = catalog.RECIPES_BY_NAME.get(str(body.get("recipeArn", "")).rsplit("/")[-1])
                config = dict(body.get("recommenderConfig") or {})
                domain_use_case = recipe.use_case if recipe is not None else None
            if previous is not None and previous.artifact != path and path not in self._models:
                # Keep answering with the current model while the new one loads.
                self._load_in_background(path, arn)
                model = previous.model
                path = previous.artifact
            else:
                model = self.model(path)
        except ArtifactUnavailable as exc:
            if previous is not None:
                return previous
            raise InvalidInputException(f"{arn} cannot serve requests: {exc}") from None
        recipe_name = recipe.name if recipe is not None else type(model).recipe_name
        recipe_type = recipe.recipe_type if recipe is not None else type(model).recipe_type
        return Deployment(
            arn=arn,
            kind=resource.kind,
            dataset_group=str(resource.dataset_group),
            recipe_name=recipe_name,
            recipe_type=recipe_type,
            domain_use_case=domain_use_case,
            config=config,
            artifact=path,
            model=model,
        )

    def ready(self, params: Mapping[str, Any]) -> bool:
        """Whether a runtime request with ``params`` resolves from memory alone: its deployment,
        its dataset group's data and model view, its filters and its event log were all loaded
        or checked recently enough that resolving it reads and loads nothing. The HTTP server
        resolves such requests on its event loop, the others on a worker thread.

        Stale-while-revalidate: once any of them is :data:`REVALIDATE_AT` of its TTL old, one
        background thread re-reads them while requests go on answering from memory, so that
        the re-reads every TTL do not send a burst of requests to worker threads."""
        now = self.clock()
        stale = False

        def fresh(checked: float, ttl: float) -> bool:
            nonlocal stale
            age = now - checked
            stale = stale or age >= ttl * REVALIDATE_AT
            return age < ttl * READY_MARGIN

        arn = params.get("campaignArn") or params.get("recommenderArn")
        if not arn:
            return True  # refused without reading anything
        entry = self._deployments.get(str(arn))
        if entry is None or not fresh(entry.checked, self.row_ttl):
            return False
        dep = entry.deployment
        if dep is None:
            return True  # a recent error, raised again
        cached = self._groups.get(dep.dataset_group)
        if cached is None or not fresh(cached[0], self.data_ttl):
            return False
        if not cached[1].has_view(dep.model) or not log_open(self.ctx, cached[1]):
            return False
        related = dep.recipe_type == "RELATED_ITEMS"
        filters = [str(f) for f in _filter_arns(params)]
        for filter_arn in filters:
            checked = self._filter_checked.get((filter_arn, related))
            if checked is None or not fresh(checked[0], self.row_ttl):
                return False
        if stale:
            self._revalidate(str(arn), dep.dataset_group, filters, related)
        return True

    def _revalidate(self, arn: str, group_arn: str, filters: list[str], related: bool) -> None:
        """Re-reads a deployment, its dataset group's data and ``filters`` in the background
        (one thread per deployment at a time). Errors are left for the requests to meet."""
        with self._lock:
            if arn in self._revalidating:
                return
            self._revalidating.add(arn)

        def run() -> None:
            try:
                self.deployment(arn, max_age=self.row_ttl * REVALIDATE_AT)
                self.group(group_arn, max_age=self.data_ttl * REVALIDATE_AT)
                for filter_arn in filters:
                    self.filter(
                        filter_arn,
                        group_arn,
                        related_items=related,
                        max_age=self.row_ttl * REVALIDATE_AT,
                    )
            except Exception:  # the next request that reads them meets and reports the error
                log.debug("revalidating %s failed", arn, exc_info=True)
            finally:
                with self._lock:
                    self._revalidating.discard(arn)

        threading.Thread(target=run, name="revalidate", daemon=True).start()

    # -- dataset-group data ----------------------------------------------------------------------

    def group(self, group_arn: str, *, max_age: float | None = None) -> GroupData:
        """The dataset group's data, re-checked when ``max_age`` (default ``data_ttl``) seconds
        old; while one request re-checks, the others answer from the current snapshot."""
        ttl = self.data_ttl if max_age is None else max_age
        now = self.clock()
        cached = self._groups.get(group_arn)
        if cached is not None and now - cached[0] < ttl:
            return cached[1]
        with self._lock:
            lock = self._group_locks.setdefault(group_arn, threading.Lock())
        if cached is not None and not lock.acquire(blocking=False):
            return cached[1]  # another request is refreshing: answer with the current snapshot
        if cached is None:
            lock.acquire()
        try:
            cached = self._groups.get(group_arn)
            if cached is not None and now - cached[0] < ttl:
                return cached[1]
            data = self._load_group(group_arn, cached[1] if cached else None)
            self._groups[group_arn] = (self.clock(), data)
            return data
        finally:
            lock.release()

    def _load_group(self, group_arn: str, old: GroupData | None) -> GroupData:
        datasets: dict[str, tuple[str, AvroSchema | None]] = {}
        for dataset in self.ctx.store.select("dataset", dataset_group=group_arn):
            if dataset.deleted_at is not None:
                continue
            schema_res = self.ctx.store.find(str(dataset.body.get("schemaArn")))
            schema = parse_schema(schema_res.body["schema"]) if schema_res is not None else None
            datasets[str(dataset.body["datasetType"]).upper()] = (dataset.arn, schema)
        records = self.ctx.records

        def generation(kind: str) -> int:
            if kind not in datasets:
                return -1
            return records.manifest(datasets[kind][0]).generation

        gens = (generation("ITEMS"), generation("USERS"), generation("INTERACTIONS"))
        if old is not None and old.generations == gens:
            return old
        items = old.items if old is not None and old.generations[0] == gens[0] else None
        if items is None and "ITEMS" in datasets:
            arn, schema = datasets["ITEMS"]
            items = AttributeTable.build(records.read(arn), schema, "ITEM_ID", gens[0])
        users = old.users if old is not None and old.generations[1] == gens[1] else None
        if users is None and "USERS" in datasets:
            arn, schema = datasets["USERS"]
            users = AttributeTable.build(records.read(arn), schema, "USER_ID", gens[1])
        history = old.history if old is not None and old.generations[2] == gens[2] else None
        if history is None:
            history = HistoryTable.empty(gens[2])
            if "INTERACTIONS" in datasets:
                arn = datasets["INTERACTIONS"][0]
                history = HistoryTable.build(records.read(arn, source="BULK"), gens[2])
        interactions = datasets.get("INTERACTIONS")
        return GroupData(
            arn=group_arn,
            interactions_arn=interactions[0] if interactions else None,
            items=items,
            users=users,
            history=history,
            generations=gens,
        )

    # -- filters ---------------------------------------------------------------------------------

    def filter(
        self, arn: str, group_arn: str, *, related_items: bool, max_age: float | None = None
    ) -> ValidatedFilter:
        """The validated filter ``arn``; its row is re-read at most every ``row_ttl`` seconds
        (``max_age`` when given; as a deployment's: a request does not pay a store read)."""
        key = (arn, related_items)
        checked = self._filter_checked.get(key)
        if (
            checked is not None
            and checked[1] == group_arn
            and self.clock() - checked[0] < (self.row_ttl if max_age is None else max_age)
        ):
            return checked[2]
        validated = self._filter(arn, group_arn, related_items=related_items)
        self._filter_checked[key] = (self.clock(), group_arn, validated)
        return validated

    def _filter(self, arn: str, group_arn: str, *, related_items: bool) -> ValidatedFilter:
        resource = self.ctx.store.find(arn)
        if resource is None or resource.kind != "filter" or resource.deleted_at is not None:
            raise ResourceNotFoundException.for_arn(arn)
        if resource.dataset_group != group_arn:
            raise InvalidInputException(
                f"Filter {arn} belongs to another dataset group than {group_arn}."
            )
        if resource.status != lifecycle.ACTIVE:
            raise InvalidInputException(f"Filter {arn} is {resource.status}, not ACTIVE.")
        expression = str(resource.body["filterExpression"])
        key = (arn, related_items)
        cached = self._filters.get(key)
        if cached is not None and cached[0] == expression:
            return cached[1]
        schemas = group_schemas(self.ctx, group_arn)
        validated = validate(parse(expression), schemas, related_items=related_items)
        self._filters[key] = (expression, validated)
        return validated


def _filter_arns(params: Mapping[str, Any]) -> list[Any]:
    """The filters a runtime request names: its own and its promotion's."""
    found = [params.get("filterArn")]
    found += [p.get("filterArn") for p in params.get("promotions") or [] if isinstance(p, dict)]
    return [f for f in found if f]


def log_open(ctx: Context, group: GroupData) -> bool:
    """Whether the group's real-time event log is open in this process, or absent (reading a
    user's recent events then costs no I/O beyond a stat)."""
    arn = group.interactions_arn
    log = ctx.event_log
    return arn is None or log.opened(arn) is not None or not log.on_disk(arn)


_CACHES: dict[int, tuple[Context, ServingCache]] = {}
_CACHES_LOCK = threading.Lock()


def serving_cache(ctx: Context) -> ServingCache:
    """The cache of the server process that owns ``ctx``."""
    entry = _CACHES.get(id(ctx))
    if entry is not None and entry[0] is ctx:
        return entry[1]
    with _CACHES_LOCK:
        entry = _CACHES.get(id(ctx))
        if entry is None or entry[0] is not ctx:
            entry = (ctx, ServingCache(ctx))
            _CACHES[id(ctx)] = entry
        return entry[1]


def exploration_settings(config: dict[str, Any]) -> tuple[float, float]:
    """(explorationWeight, explorationItemAgeCutOff in seconds) with the AWS defaults."""
    exploration = config.get("itemExplorationConfig") or {}
    try:
        weight = float(exploration.get("explorationWeight", "0.3"))
    except (TypeError, ValueError):
        weight = 0.3
    try:
        days = float(exploration.get("explorationItemAgeCutOff", "30"))
    except (TypeError, ValueError):
        days = 30.0
    return min(max(weight, 0.0), 1.0), max(days, 1.0) * SECONDS_PER_DAY
