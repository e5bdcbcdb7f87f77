"""The ``solution-version`` job: train a solution version in a worker process.

CreateSolutionVersion leaves the version CREATE PENDING with a queued job; a worker runs this
function, which moves it to CREATE IN_PROGRESS and then to ACTIVE (or CREATE FAILED with AWS's
reason, or CREATE STOPPED after StopSolutionVersionCreation). The phases, with a stop check between
each (and between HPO / AutoML trials):

1. read the dataset group's Interactions, Items and Users records (bulk + real-time) and schemas;
   a recipe whose required dataset is missing fails with a reason naming it;
2. build the TrainingData with the solution's ``eventType``, ``eventValueThreshold``,
   ``eventsConfig`` and ``trainingDataConfig``, enforcing the minimum-data rules
   (``min_interactions``, ``min_users_with_two``) with AWS's messages;
3. ``performAutoML``: each recipe of ``autoMLConfig.recipeList`` (defaults) is trained on a
   validation split carved from the training users and scored by ``autoMLConfig.metricName``
   (default ``precision_at_25``); the best one is used and reported in ``autoMLResult``;
4. ``performHPO``: :func:`~openpersonalize.engine.hyperparameters.hpo_search` over
   ``hpoConfig.algorithmHyperParameterRanges`` with ``maxNumberOfTrainingJobs`` trials (run one
   after the other: ``maxParallelTrainingJobs`` is validated but a worker trains serially), each
   scored on the same validation split (``hpoObjective.metricName`` when it names a Personalize
   metric, else ``precision_at_25``); the best parameters become ``tunedHPOParams``;
5. the model is trained on the training users of the Personalize split (90 % / 10 % users) and
   its offline metrics computed on the held-out users — as Personalize documents, the solution
   version *is* that model (held-out users' histories are folded in at request time like any
   user's); segmentation recipes are scored on an 80 % / 20 % split of each user's events and
   then retrained on everything. The test users are never seen by steps 3 and 4. With
   ``optimizationObjective`` the Items column is checked (CREATE FAILED when it is missing, not
   numeric or nullable), blended into the model's scores before they are evaluated, and
   ``average_rewards_at_k`` is added (:mod:`openpersonalize.engine.objective`);
6. the model is saved under ``<data_dir>/models``.

All randomness comes from generators seeded with :data:`SEED`, so the same data and configuration
give the same model, metrics and artifact directory.

``trainingMode`` UPDATE (and automatic UPDATE-style refreshes) do not run steps 3–5: the model is
refreshed with the current data using the parameters of the newest ACTIVE version (its tuned
parameters and AutoML recipe), and that version's metrics are carried over, as Personalize does
("automatic UPDATE refreshes do not produce new metrics"). Semantic-Similarity embeds only the new
items into the previous model; the other recipes retrain cheaply without search or evaluation.

``trainingHours`` is the job's wall-clock time × :data:`VCPU_EQUIVALENT` (Personalize bills
training in 4-vCPU-instance hours), so the number is comparable in spirit, not in cost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from openpersonalize.controlplane import catalog, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.engine import hyperparameters
from openpersonalize.engine.artifacts import ArtifactError, load_model, save_model
from openpersonalize.engine.base import Model, TrainingData
from openpersonalize.engine.metrics import METRIC_KEYS
from openpersonalize.engine.objective import (
    FittedObjective,
    ObjectiveError,
    fit_objective,
    parse_objective,
)
from openpersonalize.engine.offline_metrics import (
    ranking_model_metrics,
    segmentation_metrics,
    segmentation_split,
)
from openpersonalize.engine.recipes import RecipeNotAvailable, get_recipe
from openpersonalize.engine.split import PersonalizeSplit, personalize_split, validation_split
from openpersonalize.engine.training_data import TrainingDataError
from openpersonalize.jobs import runner
from openpersonalize.jobs.training_inputs import (
    ACTION_INTERACTIONS,
    ACTIONS,
    INTERACTIONS,
    ITEMS,
    USERS,
    GroupData,
    attach_actions,
    build,
    check_required,
    group_datasets,
    interactions_fingerprint,
    read_group,
)
from openpersonalize.store.metadata import Job, Resource

log = logging.getLogger("openpersonalize.jobs.training")

KIND = "solution-version"
SEED = 0
VCPU_EQUIVALENT = 4.0
DEFAULT_OBJECTIVE = "precision_at_25"
MODELS_DIR = "models"
SEGMENTATION = "USER_SEGMENTATION"
ACTIONS_TYPE = "PERSONALIZED_ACTIONS"
SEMANTIC = "aws-semantic-similarity"


class Stopped(Exception):
    """The version was stopped (or deleted) while training: end without a model."""


@dataclass
class Outcome:
    model: Model
    parameters: dict[str, str]
    metrics: dict[str, float]
    tuned: dict[str, str] | None = None
    best_recipe_arn: str | None = None


def rng(*stream: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *stream])


def check_stop(ctx: Context, arn: str) -> None:
    resource = ctx.store.find(arn)
    if resource is None or resource.deleted_at is not None:
        raise Stopped
    if resource.status == lifecycle.CREATE_STOPPING:
        raise Stopped


def recipe_class(name: str) -> type[Model]:
    try:
        return get_recipe(name)
    except RecipeNotAvailable as exc:
        raise runner.JobFailed(f"Recipe {name} cannot be trained: {exc}") from None


def train_model(
    cls: type[Model], data: TrainingData, params: Mapping[str, str], gen: np.random.Generator
) -> Model:
    """``cls.train`` with the recipe's own data errors turned into the job's failureReason."""
    from openpersonalize.engine.recipes.semantic_similarity import SemanticModelUnavailable

    try:
        return cls.train(data, params, gen)
    except TrainingDataError as exc:
        raise runner.JobFailed(exc.message) from None
    except SemanticModelUnavailable as exc:
        raise runner.JobFailed(str(exc)) from None


def event_weights(config: Mapping[str, Any]) -> dict[str, float]:
    entries = (config.get("eventsConfig") or {}).get("eventParametersList") or []
    return {str(e["eventType"]): float(e.get("weight", 1.0)) for e in entries}


def objective_for(
    recipe_name: str, config: Mapping[str, Any], data: TrainingData, group: GroupData
) -> FittedObjective | None:
    """The solution's ``optimizationObjective`` fitted to ``data`` (None without one)."""
    try:
        objective = parse_objective(config)
        if objective is None:
            return None
        return fit_objective(objective, recipe_name, data, group.schema(ITEMS))
    except ObjectiveError as exc:
        raise runner.JobFailed(exc.message) from None


def with_objective(model: Model, objective: FittedObjective | None) -> Model:
    """``model`` scoring with the objective blended in (unchanged without one)."""
    from openpersonalize.engine.recipes.user_personalization import UserPersonalization

    if objective is None:
        return model
    if not isinstance(model, UserPersonalization):
        raise runner.JobFailed(f"optimizationObjective is not supported by {model.recipe_name}.")
    return model.with_objective(objective.item)


def train_and_evaluate(
    cls: type[Model],
    data: TrainingData,
    split: PersonalizeSplit | None,
    params: Mapping[str, str],
    weights: Mapping[str, float] | None = None,
    objective: FittedObjective | None = None,
) -> tuple[Model, dict[str, float]]:
    """The model to deploy and its offline metrics (spec §4).

    Ranking recipes: as Personalize documents, the solution version is the model trained on the
    training users (90 %); the held-out users' oldest events are fed to it and its
    recommendations compared with their newest ones. The vocabularies cover every user and item,
    and the held-out users' histories are folded in at request time like anyone's. Segmentation
    recipes are evaluated on a per-user time split, then retrained on all the data (their
    held-out part is every user's newest events, too valuable to leave out). An ``objective`` is
    blended into the model before it is evaluated, and adds ``average_rewards_at_k``.
    """
    if cls.recipe_type == ACTIONS_TYPE:
        from openpersonalize.engine.recipes.next_best_action import NextBestAction, action_metrics

        if not issubclass(cls, NextBestAction):
            raise runner.JobFailed(f"{cls.recipe_name} is not a next-best-action recipe.")
        metrics = action_metrics(cls, data, params, rng(2))
        return train_model(cls, data, params, rng(1)), metrics
    if cls.recipe_type == SEGMENTATION:
        train, test_users, test_items = segmentation_split(data)
        probe = train_model(cls, train, params, rng(2))
        metrics = segmentation_metrics(probe, test_users, test_items, data.n_users, rng(4))
        return train_model(cls, data, params, rng(1)), metrics
    if split is None:
        split = personalize_split(data, rng(0))
    model = with_objective(train_model(cls, split.train, params, rng(1)), objective)
    if objective is None:
        return model, ranking_model_metrics(model, split.test, data.n_items, weights)
    rewards = objective.rewards
    return model, ranking_model_metrics(model, split.test, data.n_items, weights, rewards)


def _objective(name: object) -> str:
    return str(name) if name in METRIC_KEYS else DEFAULT_OBJECTIVE


def algorithm_parameters(recipe_name: str, params: Mapping[str, str]) -> dict[str, str]:
    names = {hp.name for hp in hyperparameters.definitions(recipe_name) if not hp.featurization}
    return {k: v for k, v in params.items() if k in names}


def run_hpo(
    ctx: Context,
    arn: str,
    recipe_name: str,
    cls: type[Model],
    validation: PersonalizeSplit,
    n_items: int,
    params: dict[str, str],
    hpo_config: Mapping[str, Any],
) -> dict[str, str]:
    """The best parameters over the HPO ranges, scored on the validation split."""
    plan = hyperparameters.validate_hpo_config(recipe_name, hpo_config)
    if not plan.ranges or cls.recipe_type == SEGMENTATION:
        return params
    objective = hpo_config.get("hpoObjective") or {}
    metric = _objective(objective.get("metricName"))
    sign = -1.0 if str(objective.get("type", "")).lower() == "minimize" else 1.0

    def score(candidate: dict[str, str]) -> float:
        check_stop(ctx, arn)
        model = train_model(cls, validation.train, candidate, rng(3))
        return sign * ranking_model_metrics(model, validation.test, n_items)[metric]

    result = hyperparameters.hpo_search(
        recipe_name,
        hpo_config.get("algorithmHyperParameterRanges"),
        plan.max_jobs,
        score,
        rng(5),
        params,
    )
    log.info("HPO for %s: best %s = %.4f", arn, metric, sign * result.best_score)
    return dict(result.best_params)


def run_automl(
    ctx: Context,
    arn: str,
    candidates: list[str],
    available: Mapping[str, str],
    group_arn: str,
    data: TrainingData,
    validation: PersonalizeSplit,
    metric: str,
) -> str:
    """The ARN of the recipe with the best validation ``metric`` among ``candidates``."""
    best: tuple[float, str] | None = None
    skipped: list[str] = []
    for recipe_arn in candidates:
        recipe = catalog.recipe_from_arn(ctx, recipe_arn)
        try:
            cls = get_recipe(recipe.name)
            check_required(recipe.name, available, group_arn)
        except (RecipeNotAvailable, runner.JobFailed):
            skipped.append(recipe.name)
            continue
        if recipe.legacy or recipe.domain or cls.recipe_type == SEGMENTATION:
            skipped.append(recipe.name)
            continue
        check_stop(ctx, arn)
        params = hyperparameters.validate(recipe.name)
        model = train_model(cls, validation.train, params, rng(6))
        value = ranking_model_metrics(model, validation.test, data.n_items)[metric]
        log.info("AutoML for %s: %s %s = %.4f", arn, recipe.name, metric, value)
        if best is None or value > best[0]:
            best = (value, recipe_arn)
    if best is None:
        raise runner.JobFailed(
            "AutoML found no recipe it can train in autoMLConfig.recipeList "
            f"(not available here: {', '.join(skipped) or 'none'})."
        )
    return best[1]


def _latest_active(ctx: Context, solution_arn: str, exclude: str) -> Resource | None:
    for version in ctx.store.select(KIND, parent=solution_arn, include_deleted=False):
        ok = version.arn != exclude and version.status == lifecycle.ACTIVE
        if ok and version.body.get("artifact"):
            return version
    return None


def update_model(
    ctx: Context,
    version: Resource,
    data: TrainingData,
    config: Mapping[str, Any],
    objective: FittedObjective | None = None,
) -> Outcome:
    """trainingMode UPDATE: refresh the newest ACTIVE version's model with the current data."""
    previous = _latest_active(ctx, str(version.body["solutionArn"]), version.arn)
    if previous is None:
        raise runner.JobFailed(
            "trainingMode UPDATE needs an ACTIVE solution version trained with FULL."
        )
    recipe = catalog.recipe_from_arn(ctx, str(previous.body["recipeArn"]))
    params = hyperparameters.validate(
        recipe.name,
        None if version.body.get("performAutoML") else config.get("algorithmHyperParameters"),
        None
        if version.body.get("performAutoML")
        else config.get("featureTransformationParameters"),
    )
    tuned = (previous.body.get("tunedHPOParams") or {}).get("algorithmHyperParameters") or {}
    params.update({str(k): str(v) for k, v in tuned.items()})
    metrics = {str(k): float(v) for k, v in (previous.body.get("metrics") or {}).items()}
    model: Model
    if recipe.name == SEMANTIC:
        model = _semantic_update(ctx, previous, data)
    else:
        model = train_model(recipe_class(recipe.name), data, params, rng(1))
        model = with_objective(model, objective)
    return Outcome(model, params, metrics, tuned or None, str(previous.body["recipeArn"]))


def _semantic_update(ctx: Context, previous: Resource, data: TrainingData) -> Model:
    """Embed only the items the previous model has not seen (popularity is not refreshed)."""
    from openpersonalize.engine.recipes.semantic_similarity import (
        SemanticSimilarity,
        item_texts,
    )

    try:
        model = load_model(ctx.data_dir / str(previous.body["artifact"]))
    except (ArtifactError, OSError) as exc:
        raise runner.JobFailed(f"The previous model cannot be loaded: {exc}") from None
    if not isinstance(model, SemanticSimilarity):
        raise runner.JobFailed("The previous model is not a Semantic-Similarity model.")
    texts = item_texts(data)
    new = [
        (i, texts[i]) for i, item_id in enumerate(data.items.ids()) if item_id not in model.items
    ]
    if not new:
        return model
    ids = data.items.ids([i for i, _ in new])
    return model.with_items(ids, [t for _, t in new])


def full_training(
    ctx: Context,
    version: Resource,
    data: TrainingData,
    config: Mapping[str, Any],
    available: Mapping[str, str],
    objective: FittedObjective | None = None,
) -> Outcome:
    arn = version.arn
    body = version.body
    automl = bool(body.get("performAutoML"))
    recipe_arn = str(body["recipeArn"])
    split: PersonalizeSplit | None = None
    validation: PersonalizeSplit | None = None

    def splits() -> tuple[PersonalizeSplit, PersonalizeSplit]:
        nonlocal split, validation
        if split is None or validation is None:
            split = personalize_split(data, rng(0))
            validation = validation_split(split.train, rng(7))
        return split, validation

    best_recipe_arn: str | None = None
    if automl:
        automl_config = config.get("autoMLConfig") or {}
        candidates = [str(a) for a in automl_config.get("recipeList") or []] or [recipe_arn]
        metric = _objective(automl_config.get("metricName"))
        best_recipe_arn = run_automl(
            ctx, arn, candidates, available, str(body["datasetGroupArn"]), data, splits()[1], metric
        )
        recipe_arn = best_recipe_arn
    recipe = catalog.recipe_from_arn(ctx, recipe_arn)
    cls = recipe_class(recipe.name)
    params = hyperparameters.validate(
        recipe.name,
        None if automl else config.get("algorithmHyperParameters"),
        None if automl else config.get("featureTransformationParameters"),
    )
    tuned: dict[str, str] | None = None
    if body.get("performHPO") and not automl:
        check_stop(ctx, arn)
        if cls.recipe_type not in (SEGMENTATION, ACTIONS_TYPE):
            params = run_hpo(
                ctx,
                arn,
                recipe.name,
                cls,
                splits()[1],
                data.n_items,
                params,
                config.get("hpoConfig") or {},
            )
        tuned = algorithm_parameters(recipe.name, params)
    check_stop(ctx, arn)
    weights = None if automl else event_weights(config)
    per_user = cls.recipe_type in (SEGMENTATION, ACTIONS_TYPE)
    model, metrics = train_and_evaluate(
        cls, data, None if per_user else splits()[0], params, weights, objective
    )
    return Outcome(model, params, metrics, tuned, best_recipe_arn)


def run_training(ctx: Context, version: Resource) -> Outcome:
    body = version.body
    group_arn = str(body["datasetGroupArn"])
    automl = bool(body.get("performAutoML"))
    config: dict[str, Any] = dict(body.get("solutionConfig") or {})
    recipe = catalog.recipe_from_arn(ctx, str(body["recipeArn"]))
    # Recorded before reading, so data arriving during training counts as new next time.
    ctx.store.update(
        version.arn, body={"dataFingerprint": interactions_fingerprint(ctx, group_arn)}
    )
    available = group_datasets(ctx, group_arn)
    if not automl:
        check_required(recipe.name, available, group_arn)
    check_stop(ctx, version.arn)
    wanted: tuple[str, ...] = (INTERACTIONS, ITEMS, USERS)
    if recipe.recipe_type == ACTIONS_TYPE:
        wanted = (*wanted, ACTIONS, ACTION_INTERACTIONS)
    group = read_group(ctx, group_arn, wanted)
    data = build(
        ctx,
        group,
        event_type=body.get("eventType"),
        event_value_threshold=None if automl else config.get("eventValueThreshold"),
        events_config=None if automl else config.get("eventsConfig"),
        training_data_config=None if automl else config.get("trainingDataConfig"),
        # Semantic-Similarity trains from item text; interactions are optional (spec §2.2).
        check_minimums=recipe.name != SEMANTIC,
    )
    if recipe.recipe_type == ACTIONS_TYPE:
        data = attach_actions(data, group)
    check_stop(ctx, version.arn)
    objective = None if automl else objective_for(recipe.name, config, data, group)
    if body.get("trainingMode") == "UPDATE":
        return update_model(ctx, version, data, config, objective)
    return full_training(ctx, version, data, config, available, objective)


def _mark_stopped(ctx: Context, arn: str) -> None:
    resource = ctx.store.find(arn)
    if resource is None or resource.deleted_at is not None:
        return
    if resource.status in (lifecycle.CREATE_STOPPING, lifecycle.CREATE_IN_PROGRESS):
        ctx.store.update(arn, status=lifecycle.CREATE_STOPPED)


def save(ctx: Context, model: Model, parameters: Mapping[str, str]) -> str:
    """Save under ``<data_dir>/models``; the path relative to the data directory."""
    directory = save_model(model, ctx.data_dir / MODELS_DIR, parameters)
    return directory.relative_to(ctx.data_dir).as_posix()


@runner.job(KIND)
def train_solution_version(ctx: Context, job: Job) -> None:
    version = ctx.store.find(job.arn)
    if version is None or version.deleted_at is not None:
        return
    if version.status == lifecycle.CREATE_STOPPING:
        _mark_stopped(ctx, job.arn)
        return
    if version.status not in (lifecycle.CREATE_PENDING, lifecycle.CREATE_IN_PROGRESS):
        return  # stopped while pending, or a retried job whose work is done
    if version.status == lifecycle.CREATE_PENDING:
        runner.start(ctx, job.arn)
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        outcome = run_training(ctx, ctx.store.get(job.arn))
        check_stop(ctx, job.arn)
        artifact = save(ctx, outcome.model, outcome.parameters)
        check_stop(ctx, job.arn)
    except Stopped:
        _mark_stopped(ctx, job.arn)
        return
    seconds = time.monotonic() - started
    body: dict[str, Any] = {
        "artifact": artifact,
        "metrics": outcome.metrics,
        "trainingHours": round(seconds / 3600.0 * VCPU_EQUIVALENT, 6),
    }
    if outcome.tuned is not None:
        body["tunedHPOParams"] = {"algorithmHyperParameters": outcome.tuned}
    if outcome.best_recipe_arn is not None:
        body["recipeArn"] = outcome.best_recipe_arn
    ctx.store.update(job.arn, status=lifecycle.ACTIVE, body=body)
    version = ctx.store.get(job.arn)
    if version.body.get("performAutoML") and outcome.best_recipe_arn is not None:
        ctx.store.update(
            str(version.body["solutionArn"]),
            body={"autoMLResult": {"bestRecipeArn": outcome.best_recipe_arn}},
            touch=False,
        )
    log.info(
        "solution version %s ACTIVE after %.1f s (%.1f CPU-seconds)",
        job.arn,
        seconds,
        time.process_time() - cpu_started,
    )
