"""aws-next-best-action through boto3: train on Actions + Action_Interactions, its metrics,
GetActionRecommendations with the expiration and repeat-frequency rules and an ActionID filter."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from openpersonalize.datasets import small
from tests.contract.data_flow import create_group, run_import
from tests.contract.server import RunningServer, wait_for
from tests.schemas import avro

RECIPE = "arn:aws:personalize:::recipe/aws-next-best-action"
ACTIONS = avro(
    "Actions",
    [
        ("ACTION_ID", "string"),
        ("VALUE", ["null", "int"]),
        ("EXPIRATION_TIMESTAMP", ["null", "long"]),
        ("REPEAT_FREQUENCY", ["null", "int"]),
        ("CATEGORY", "string"),
    ],
    CATEGORY={"categorical": True},
)
ACTION_INTERACTIONS = avro(
    "Action_Interactions",
    [
        ("USER_ID", "string"),
        ("ACTION_ID", "string"),
        ("EVENT_TYPE", "string"),
        ("TIMESTAMP", "long"),
    ],
)


def test_next_best_action(server: RunningServer, personalize: Any, tmp_path: Path) -> None:
    runtime = server.client("personalize-runtime")
    tables = small("custom", seed=5, n_users=120, n_items=80, n_interactions=2400)
    group, datasets = create_group(
        personalize,
        "nba",
        {
            "Interactions": tables.schemas["interactions"],
            "Actions": ACTIONS,
            "Action_Interactions": ACTION_INTERACTIONS,
        },
    )
    now = int(time.time())
    action_ids = ["upgrade", "newsletter", "coupon", "expired", "repeat"]
    actions = pa.table(
        {
            "ACTION_ID": action_ids,
            "VALUE": pa.array([5, 1, 3, 9, 2], pa.int64()),
            "EXPIRATION_TIMESTAMP": pa.array([None, None, None, now - 3600, None], pa.int64()),
            "REPEAT_FREQUENCY": pa.array([None, None, None, None, 30], pa.int64()),
            "CATEGORY": ["plan", "mail", "promo", "promo", "mail"],
        }
    )
    users = sorted({str(u) for u in tables.interactions["USER_ID"].to_pylist()})
    rows: dict[str, list[Any]] = {"USER_ID": [], "ACTION_ID": [], "EVENT_TYPE": [], "TIMESTAMP": []}
    for n, user in enumerate(users):
        for k, action in enumerate(action_ids):
            taken = (n + k) % 3 == 0
            rows["USER_ID"].append(user)
            rows["ACTION_ID"].append(action)
            rows["EVENT_TYPE"].append("Taken" if taken else "Not Taken")
            rows["TIMESTAMP"].append(now - 86_400 * (1 + (n % 20)))
    paths = {}
    for kind, table in (
        ("Interactions", tables.interactions),
        ("Actions", actions),
        ("Action_Interactions", pa.table(rows)),
    ):
        paths[kind] = tmp_path / f"{kind}.csv"
        pacsv.write_csv(table, paths[kind])
        job = run_import(personalize, datasets[kind], str(paths[kind]), f"nba-{kind}")
        assert job["status"] == "ACTIVE", job

    solution = personalize.create_solution(
        name="nba",
        datasetGroupArn=group,
        recipeArn=RECIPE,
        solutionConfig={"algorithmHyperParameters": {"min_action_interactions": "10"}},
    )["solutionArn"]
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    done = wait_for(
        personalize.describe_solution_version, "solutionVersion", timeout=120,
        solutionVersionArn=version,
    )  # fmt: skip
    assert done["status"] == "ACTIVE", done
    metrics = personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]
    assert set(metrics) >= {"precision", "recall", "auc"}
    assert 0.0 <= metrics["auc"] <= 1.0

    campaign = personalize.create_campaign(name="nba", solutionVersionArn=version)["campaignArn"]
    assert wait_for(personalize.describe_campaign, "campaign", campaignArn=campaign)["status"] == (
        "ACTIVE"
    )
    # Every user interacted with "repeat" within its 30-day repeat frequency: never returned.
    for user in users[:10]:
        answer = runtime.get_action_recommendations(campaignArn=campaign, userId=user, numResults=5)
        returned = [a["actionId"] for a in answer["actionList"]]
        assert "expired" not in returned and "repeat" not in returned
        assert sorted(returned) == ["coupon", "newsletter", "upgrade"]
        scores = [a["score"] for a in answer["actionList"]]
        assert all(0.0 < s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    # A new user has no repeat suppression; expired actions stay out.
    fresh = runtime.get_action_recommendations(campaignArn=campaign, userId="new-user")
    assert sorted(a["actionId"] for a in fresh["actionList"]) == [
        "coupon", "newsletter", "repeat", "upgrade",
    ]  # fmt: skip
    no_mail = personalize.create_filter(
        name="nba-no-mail",
        datasetGroupArn=group,
        filterExpression='EXCLUDE ActionID WHERE Actions.CATEGORY IN ("mail")',
    )["filterArn"]
    filtered = runtime.get_action_recommendations(
        campaignArn=campaign, userId="new-user", filterArn=no_mail
    )
    assert sorted(a["actionId"] for a in filtered["actionList"]) == ["coupon", "upgrade"]
