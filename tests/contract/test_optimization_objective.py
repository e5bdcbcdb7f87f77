"""solutionConfig.optimizationObjective through boto3 against a real server (spec §2.4, §4.2).

Synthetic e-commerce data (``openpersonalize.datasets``, PRICE a non-null float) imported with
real import jobs. CreateSolution refuses what cannot work with InvalidInputException; a version
trained with an objective reports ``average_rewards_at_k`` besides the usual metrics; OFF ranks by
relevance alone (the metrics of a solution without objective); and a campaign of a HIGH solution
recommends dearer items than one of an OFF solution, through the unchanged serving path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from botocore.exceptions import ClientError

from openpersonalize.datasets import small
from tests.contract.data_flow import RANKING_KEYS, create_group, run_import
from tests.contract.server import RunningServer, wait_for

RECIPE = "arn:aws:personalize:::recipe/"
REWARDS = "average_rewards_at_k"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = {"workers": 2, "min_interactions": 1000, "min_users_with_two": 25}
    running = RunningServer(tmp_path_factory.mktemp("objective") / "data", settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def world(personalize: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tables = small("ecommerce", seed=3, n_users=400, n_items=300, n_interactions=12_000)
    folder = tmp_path_factory.mktemp("csv")
    schemas = {"Interactions": tables.schemas["interactions"], "Items": tables.schemas["items"]}
    group, datasets = create_group(personalize, "objective", schemas)
    for kind, table in (("Interactions", tables.interactions), ("Items", tables.items)):
        path = folder / f"{kind}.csv"
        pacsv.write_csv(table, path)
        job = run_import(personalize, datasets[kind], str(path), f"objective-{kind}")
        assert job["status"] == "ACTIVE", job.get("failureReason")
    ids, values = tables.items["ITEM_ID"].to_pylist(), tables.items["PRICE"].to_pylist()
    prices = dict(zip(ids, values, strict=True))
    users = sorted(set(pc.unique(tables.interactions["USER_ID"]).to_pylist()))
    return {"group": group, "prices": prices, "users": users}


def objective(attribute: str | None, sensitivity: str | None = None) -> dict[str, Any]:
    raw = {"itemAttribute": attribute, "objectiveSensitivity": sensitivity}
    return {"optimizationObjective": {k: v for k, v in raw.items() if v is not None}}


def error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("recipe", "config", "message"),
    [
        (
            "aws-user-personalization",
            objective("PRODUCT_NAME", "HIGH"),
            "itemAttribute PRODUCT_NAME must be a numerical column (int, long, float or double),"
            " not string. Numerical columns of the Items schema: PRICE, CREATION_TIMESTAMP.",
        ),
        (
            "aws-user-personalization-v2",
            objective("MARGIN"),
            "itemAttribute MARGIN is not a column of the Items dataset.",
        ),
        (
            "aws-personalized-ranking",
            objective(None, "HIGH"),
            "optimizationObjective needs an itemAttribute",
        ),
        ("aws-similar-items", objective("PRICE"), "not supported by aws-similar-items"),
        (
            "aws-user-personalization",
            objective("PRICE", "EXTREME"),
            "Member must satisfy enum value set: [LOW, MEDIUM, HIGH, OFF]",
        ),
    ],
)
def test_create_solution_refuses_an_unusable_objective(
    personalize: Any, world: dict[str, Any], recipe: str, config: dict[str, Any], message: str
) -> None:
    code, text = error(
        personalize.create_solution,
        name="refused",
        datasetGroupArn=world["group"],
        recipeArn=RECIPE + recipe,
        solutionConfig=config,
    )
    assert code == "InvalidInputException"
    assert message in text


def mean_price(runtime: Any, campaign: str, users: list[str], prices: dict[str, float]) -> float:
    recommended = [
        prices[entry["itemId"]]
        for user in users
        for entry in runtime.get_recommendations(campaignArn=campaign, userId=user)["itemList"]
    ]
    assert len(recommended) == 25 * len(users)
    return sum(recommended) / len(recommended)


def test_objective_metrics_and_recommendations(
    personalize: Any, runtime: Any, world: dict[str, Any]
) -> None:
    configs: dict[str, dict[str, Any]] = {
        "plain": {},
        "off": objective("PRICE", "OFF"),
        "high": objective("PRICE", "HIGH"),
        "ranking-medium": objective("PRICE"),  # objectiveSensitivity defaults to MEDIUM
        "ranking-off": objective("PRICE", "OFF"),
    }
    versions = {}
    for name, config in configs.items():
        recipe = "aws-personalized-ranking-v2" if name.startswith("ranking") else None
        solution = personalize.create_solution(
            name=name,
            datasetGroupArn=world["group"],
            recipeArn=RECIPE + (recipe or "aws-user-personalization"),
            solutionConfig=config,
        )["solutionArn"]
        described = personalize.describe_solution(solutionArn=solution)["solution"]
        assert described["solutionConfig"] == config
        versions[name] = personalize.create_solution_version(solutionArn=solution)[
            "solutionVersionArn"
        ]
    metrics = {}
    for name, arn in versions.items():
        done = wait_for(
            personalize.describe_solution_version, "solutionVersion", timeout=120,
            solutionVersionArn=arn,
        )  # fmt: skip
        assert done["status"] == "ACTIVE", (name, done.get("failureReason"))
        metrics[name] = personalize.get_solution_metrics(solutionVersionArn=arn)["metrics"]

    assert set(metrics["plain"]) == RANKING_KEYS
    for name in ("off", "high", "ranking-medium", "ranking-off"):
        assert set(metrics[name]) == RANKING_KEYS | {REWARDS}, name
        assert 0.0 < metrics[name][REWARDS] <= 1.0
    # OFF is relevance only: exactly the metrics of the solution without an objective.
    assert {k: v for k, v in metrics["off"].items() if k != REWARDS} == metrics["plain"]

    campaigns = {}
    for name in ("off", "high", "ranking-medium", "ranking-off"):
        arn = personalize.create_campaign(name=name, solutionVersionArn=versions[name])[
            "campaignArn"
        ]
        campaigns[name] = wait_for(personalize.describe_campaign, "campaign", campaignArn=arn)
        assert campaigns[name]["status"] == "ACTIVE", campaigns[name].get("failureReason")
    users, prices = world["users"][:20], world["prices"]
    off = mean_price(runtime, campaigns["off"]["campaignArn"], users, prices)
    high = mean_price(runtime, campaigns["high"]["campaignArn"], users, prices)
    assert high > 1.1 * off, (high, off)

    # Personalized ranking puts the dearer of the candidates higher than relevance alone would.
    candidates = sorted(prices, key=prices.__getitem__)[::10][:25]

    def top_prices(name: str, user: str) -> list[float]:
        ranked = runtime.get_personalized_ranking(
            campaignArn=campaigns[name]["campaignArn"], userId=user, inputList=candidates
        )["personalizedRanking"]
        assert sorted(e["itemId"] for e in ranked) == sorted(candidates)
        assert all(0.0 <= e["score"] <= 1.0 for e in ranked)
        return [prices[e["itemId"]] for e in ranked[:5]]

    # The same model ranked by relevance alone (OFF) and blended with PRICE (MEDIUM): the blend's
    # top five cost more. (The candidates are among the cheaper items, their normalised prices at
    # most about 0.13, so MEDIUM reorders them only a little.)
    medium = sum(p for user in users for p in top_prices("ranking-medium", user))
    relevance = sum(p for user in users for p in top_prices("ranking-off", user))
    assert medium > relevance, (medium, relevance)


def test_training_fails_without_the_items_dataset(
    personalize: Any, server: RunningServer, tmp_path: Path
) -> None:
    tables = small("ecommerce", seed=4, n_users=150, n_items=80, n_interactions=3000)
    group, datasets = create_group(
        personalize, "no-items", {"Interactions": tables.schemas["interactions"]}
    )
    path = tmp_path / "interactions.csv"
    pacsv.write_csv(tables.interactions, path)
    assert run_import(personalize, datasets["Interactions"], str(path), "no-items")["status"] == (
        "ACTIVE"
    )
    solution = personalize.create_solution(
        name="no-items",
        datasetGroupArn=group,
        recipeArn=RECIPE + "aws-user-personalization",
        solutionConfig=objective("PRICE", "LOW"),
    )["solutionArn"]
    arn = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    failed = wait_for(
        personalize.describe_solution_version, "solutionVersion", solutionVersionArn=arn
    )
    assert failed["status"] == "CREATE FAILED"
    assert failed["failureReason"] == (
        "The optimizationObjective itemAttribute PRICE needs an Items dataset, and the dataset "
        "group has none."
    )
    code, _ = error(personalize.get_solution_metrics, solutionVersionArn=arn)
    assert code == "ResourceInUseException"
