"""Batch inference and batch segment jobs through boto3 against a real server, reading and
writing local folders and a moto S3 server.

Data: the project's synthetic ``custom`` preset (300 users, 200 items), imported with real import
jobs and trained with real training jobs; one batch inference job on the shared MovieLens data.
With ``explorationWeight`` "0" on the campaign and the job, every batch line equals what
GetRecommendations answers for the same user and filter values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pytest

from openpersonalize.datasets import small
from tests.contract.data_flow import (
    ROLE,
    create_group,
    run_import,
    s3_fixture,
    s3_server_fixture,
)
from tests.contract.server import RunningServer, wait_for
from tests.schemas import BASIC_INTERACTIONS

RECIPE = "arn:aws:personalize:::recipe/"
BUCKET = "batch"
NO_EXPLORATION = {"itemExplorationConfig": {"explorationWeight": "0"}}

s3 = s3_fixture(BUCKET)
server = s3_server_fixture({"max_item_attribute_affinity_queries": 3})


class World:
    """One dataset group with Interactions, Items and Users and the trained versions."""

    def __init__(self, server: RunningServer, tmp: Path) -> None:
        self.p = server.client("personalize")
        self.runtime = server.client("personalize-runtime")
        tables = small("custom", seed=3, n_users=300, n_items=200, n_interactions=6000)
        self.tables = tables
        self.group, datasets = create_group(
            self.p,
            "batch",
            {
                "Interactions": tables.schemas["interactions"],
                "Items": tables.schemas["items"],
                "Users": tables.schemas["users"],
            },
        )
        for kind, table in (
            ("Interactions", tables.interactions),
            ("Items", tables.items),
            ("Users", tables.users),
        ):
            path = tmp / f"{kind}.csv"
            pacsv.write_csv(table, path)
            job = run_import(self.p, datasets[kind], str(path), f"batch-{kind}")
            assert job["status"] == "ACTIVE", job
        self._versions: dict[str, str] = {}

    def version(self, recipe: str) -> str:
        if recipe not in self._versions:
            solution = self.p.create_solution(
                name=f"batch-{recipe}", datasetGroupArn=self.group, recipeArn=RECIPE + recipe
            )["solutionArn"]
            arn = self.p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
            done = wait_for(
                self.p.describe_solution_version,
                "solutionVersion",
                timeout=120,
                solutionVersionArn=arn,
            )
            assert done["status"] == "ACTIVE", done
            self._versions[recipe] = arn
        return self._versions[recipe]

    def filter(self, name: str, expression: str) -> str:
        arn = self.p.create_filter(
            name=name, datasetGroupArn=self.group, filterExpression=expression
        )["filterArn"]
        return str(arn)


@pytest.fixture(scope="module")
def world(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(server, tmp_path_factory.mktemp("batch-data"))


def run_inference(
    world: World, name: str, version: str, source: str, out: str, **extra: Any
) -> dict[str, Any]:
    arn = world.p.create_batch_inference_job(
        jobName=name,
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": source}},
        jobOutput={"s3DataDestination": {"path": out}},
        roleArn=ROLE,
        **extra,
    )["batchInferenceJobArn"]
    return wait_for(
        world.p.describe_batch_inference_job, "batchInferenceJob", batchInferenceJobArn=arn
    )


def run_segment(
    world: World, name: str, version: str, source: str, out: str, **extra: Any
) -> dict[str, Any]:
    arn = world.p.create_batch_segment_job(
        jobName=name,
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": source}},
        jobOutput={"s3DataDestination": {"path": out}},
        roleArn=ROLE,
        **extra,
    )["batchSegmentJobArn"]
    return wait_for(world.p.describe_batch_segment_job, "batchSegmentJob", batchSegmentJobArn=arn)


def write_lines(path: Path, lines: list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))


def read_out(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def user_ids(world: World, n: int) -> list[str]:
    return sorted({str(u) for u in world.tables.interactions["USER_ID"].to_pylist()})[:n]


def test_batch_inference_equals_realtime_local(world: World, tmp_path: Path) -> None:
    version = world.version("aws-user-personalization")
    campaign = world.p.create_campaign(
        name="batch-up", solutionVersionArn=version, campaignConfig=NO_EXPLORATION
    )["campaignArn"]
    genre = world.filter("batch-genre", "INCLUDE ItemID WHERE Items.GENRES IN ($GENRE)")
    users = user_ids(world, 30)
    source = tmp_path / "in"
    lines: list[Any] = [{"userId": u, "filterValues": {"GENRE": '"Comedy"'}} for u in users[:20]]
    write_lines(source / "part-1.json", lines)
    # A second file: bad lines among good ones; the job goes on.
    bad = ["{not json", {"itemId": "1"}, {"userId": users[20], "filterValues": {}}, [1, 2]]
    good = [{"userId": u, "filterValues": {"GENRE": '"Drama","Comedy"'}} for u in users[21:]]
    write_lines(source / "part-2.json", [*bad, *good])
    job = run_inference(
        world, "bi-local", version, str(source), str(tmp_path / "out") + "/",
        filterArn=genre, numResults=10, batchInferenceJobConfig=NO_EXPLORATION,
    )  # fmt: skip
    assert job["status"] == "ACTIVE", job.get("failureReason")
    assert job["numResults"] == 10

    wait_for(world.p.describe_campaign, "campaign", campaignArn=campaign)
    first = read_out(tmp_path / "out" / "part-1.json.out")
    assert [r["input"] for r in first] == lines
    for record in first:
        assert record["error"] is None
        expected = world.runtime.get_recommendations(
            campaignArn=campaign,
            userId=record["input"]["userId"],
            numResults=10,
            filterArn=genre,
            filterValues={"GENRE": '"Comedy"'},
        )["itemList"]
        assert record["output"]["recommendedItems"] == [i["itemId"] for i in expected]
        assert record["output"]["scores"] == pytest.approx([i["score"] for i in expected], rel=1e-4)
        assert len(expected) == 10  # 32 comedies: the comparison is not of two empty lists
    second = read_out(tmp_path / "out" / "part-2.json.out")
    assert len(second) == 4 + 9
    assert "not valid JSON" in second[0]["error"] and second[0]["input"] == "{not json"
    assert "userId is required" in second[1]["error"]
    assert "GENRE" in second[2]["error"]  # the INCLUDE filter needs its value
    assert "JSON object" in second[3]["error"]
    assert all(
        r["error"] is None and len(r["output"]["recommendedItems"]) == 10 for r in second[4:]
    )


def test_batch_inference_s3_ranking_and_related(world: World, s3: tuple[str, Any]) -> None:
    client = s3[1]
    users = user_ids(world, 5)
    items = [str(i) for i in world.tables.items["ITEM_ID"].to_pylist()[:6]]
    ranking_lines = [{"userId": u, "itemList": [*items, "no-such-item"]} for u in users]
    client.put_object(
        Bucket=BUCKET,
        Key="rank/in/users.json",
        Body="".join(json.dumps(x) + "\n" for x in ranking_lines).encode(),
    )
    job = run_inference(
        world, "bi-rank", world.version("aws-personalized-ranking"),
        f"s3://{BUCKET}/rank/in/users.json", f"s3://{BUCKET}/rank/out/",
    )  # fmt: skip
    assert job["status"] == "ACTIVE", job.get("failureReason")
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="rank/out/")["Contents"]
    assert [o["Key"] for o in listed] == ["rank/out/users.json.out"]
    body = client.get_object(Bucket=BUCKET, Key="rank/out/users.json.out")["Body"].read()
    records = [json.loads(x) for x in body.decode().splitlines()]
    assert len(records) == len(users)
    for record in records:
        out = record["output"]
        assert sorted(out["recommendedItems"]) == sorted([*items, "no-such-item"])
        assert out["recommendedItems"][-1] == "no-such-item" and out["scores"][-1] is None
        assert out["scores"][:-1] == sorted(out["scores"][:-1], reverse=True)

    client.put_object(
        Bucket=BUCKET, Key="sims/in/a.json", Body=b'{"itemId": "1"}\n{"itemId": "unknown"}\n'
    )
    job = run_inference(
        world, "bi-sims", world.version("aws-sims"),
        f"s3://{BUCKET}/sims/in/", f"s3://{BUCKET}/sims/out/", numResults=5,
    )  # fmt: skip
    assert job["status"] == "ACTIVE", job.get("failureReason")
    body = client.get_object(Bucket=BUCKET, Key="sims/out/a.json.out")["Body"].read()
    records = [json.loads(x) for x in body.decode().splitlines()]
    assert [len(r["output"]["recommendedItems"]) for r in records] == [5, 5]
    assert "1" not in records[0]["output"]["recommendedItems"]
    assert "scores" not in records[0]["output"]


def test_batch_inference_errors(world: World, tmp_path: Path) -> None:
    version = world.version("aws-user-personalization")
    job = run_inference(
        world, "bi-missing", version, str(tmp_path / "nothing"), str(tmp_path / "o")
    )
    assert job["status"] == "CREATE FAILED"
    assert "nothing" in job["failureReason"]
    with pytest.raises(
        world.p.exceptions.InvalidInputException, match="not supported for aws-item-affinity"
    ):
        run_inference(
            world, "bi-segment", world.version("aws-item-affinity"), str(tmp_path), str(tmp_path)
        )
    with pytest.raises(world.p.exceptions.InvalidInputException, match="numResults"):
        run_inference(world, "bi-many", version, str(tmp_path), str(tmp_path), numResults=501)


def test_batch_segments_local_and_s3(world: World, tmp_path: Path, s3: tuple[str, Any]) -> None:
    affinity = world.version("aws-item-affinity")
    members = world.filter(
        "batch-members", "INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($STATUS)"
    )
    statuses = dict(
        zip(
            [str(u) for u in world.tables.users["USER_ID"].to_pylist()],
            world.tables.users["MEMBERSHIP_STATUS"].to_pylist(),
            strict=True,
        )
    )
    status = sorted(set(statuses.values()))[0]
    write_lines(
        tmp_path / "in" / "items.json",
        [
            {"itemId": "1", "filterValues": {"STATUS": json.dumps(status)}},
            {"itemId": "2", "filterValues": {"STATUS": json.dumps(status)}},
            {"itemId": "no-such-item", "filterValues": {"STATUS": json.dumps(status)}},
        ],
    )
    job = run_segment(
        world, "seg-items", affinity, str(tmp_path / "in"), str(tmp_path / "out"),
        filterArn=members, numResults=7,
    )  # fmt: skip
    assert job["status"] == "ACTIVE", job.get("failureReason")
    records = read_out(tmp_path / "out" / "items.json.out")
    for record in records[:2]:
        users = record["output"]["usersList"]
        assert len(users) == 7 and len(set(users)) == 7
        assert all(statuses[u] == status for u in users)
    assert "no-such-item" in records[2]["error"]

    attribute = world.version("aws-item-attribute-affinity")
    genres = [g.split("|")[0] for g in world.tables.items["GENRES"].to_pylist()]
    query = f'ITEMS.GENRES = "{genres[0]}" AND ITEMS.PRICE = 0'
    lines = [
        {"itemAttributes": query},
        {"itemAttributes": f'ITEMS.genres = "{genres[1]}"'},
        {"itemAttributes": "ITEMS.GENRES ~ 3"},
    ]
    s3[1].put_object(
        Bucket=BUCKET, Key="seg/in.json", Body="".join(json.dumps(x) + "\n" for x in lines).encode()
    )
    job = run_segment(
        world, "seg-attr", attribute, f"s3://{BUCKET}/seg/in.json", f"s3://{BUCKET}/seg/out"
    )
    assert job["status"] == "ACTIVE", job.get("failureReason")
    body = s3[1].get_object(Bucket=BUCKET, Key="seg/out/in.json.out")["Body"].read()
    records = [json.loads(x) for x in body.decode().splitlines()]
    assert [len(r["output"]["usersList"]) for r in records[:2]] == [25, 25]
    assert records[0]["input"] == lines[0]
    assert "expected = or IN" in records[2]["error"]

    # The per-file query limit (lowered to 3 for this server) fails the job with the reason.
    s3[1].put_object(
        Bucket=BUCKET,
        Key="seg/many.json",
        Body=b"".join([json.dumps(lines[1]).encode() + b"\n"] * 4),
    )
    job = run_segment(
        world, "seg-many", attribute, f"s3://{BUCKET}/seg/many.json", f"s3://{BUCKET}/seg/o2"
    )
    assert job["status"] == "CREATE FAILED"
    assert "at most 3 queries per file" in job["failureReason"]


@pytest.mark.shared_data
def test_batch_inference_on_shared_data(
    server: RunningServer, shared_data: Path, tmp_path: Path
) -> None:
    p = server.client("personalize")
    runtime = server.client("personalize-runtime")
    group, datasets = create_group(p, "poc-batch", {"Interactions": BASIC_INTERACTIONS})
    job = run_import(
        p,
        datasets["Interactions"],
        str(shared_data / "personalize-poc" / "interactions.csv"),
        "poc-batch",
    )
    assert job["status"] == "ACTIVE", job
    solution = p.create_solution(
        name="poc-batch", datasetGroupArn=group, recipeArn=RECIPE + "aws-user-personalization"
    )["solutionArn"]
    version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    done = wait_for(
        p.describe_solution_version, "solutionVersion", timeout=180, solutionVersionArn=version
    )
    assert done["status"] == "ACTIVE", done
    campaign = p.create_campaign(
        name="poc-batch", solutionVersionArn=version, campaignConfig=NO_EXPLORATION
    )["campaignArn"]
    users = [str(u) for u in range(1, 41)]
    write_lines(tmp_path / "in" / "users.json", [{"userId": u} for u in users])
    job = run_inference_raw(p, "poc-batch", version, str(tmp_path / "in"), str(tmp_path / "out"))
    assert job["status"] == "ACTIVE", job.get("failureReason")
    wait_for(p.describe_campaign, "campaign", campaignArn=campaign)
    records = read_out(tmp_path / "out" / "users.json.out")
    assert [r["input"]["userId"] for r in records] == users
    for record in records:
        expected = runtime.get_recommendations(
            campaignArn=campaign, userId=record["input"]["userId"]
        )
        assert record["output"]["recommendedItems"] == [i["itemId"] for i in expected["itemList"]]
        assert len(expected["itemList"]) == 25


def run_inference_raw(p: Any, name: str, version: str, source: str, out: str) -> dict[str, Any]:
    arn = p.create_batch_inference_job(
        jobName=name,
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": source}},
        jobOutput={"s3DataDestination": {"path": out}},
        roleArn=ROLE,
        batchInferenceJobConfig=NO_EXPLORATION,
    )["batchInferenceJobArn"]
    return wait_for(p.describe_batch_inference_job, "batchInferenceJob", batchInferenceJobArn=arn)
