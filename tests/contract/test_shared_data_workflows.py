"""Whole Personalize workflows on the reference data sets, through boto3 against a real server.

- ECOMMERCE on ``retail/``: a domain dataset group with its three files imported whole, a
  recommender per use case, each asked with the inputs its use case takes; the automatic exclusion
  of purchased items, an Items filter with a parameter, a Purchase sent through PutEvents that is
  gone from the next "recommended for you" answer.
- Batch jobs on the same group: batch inference with a filter and per-line filter values through
  S3, line by line equal to GetRecommendations with exploration off on both sides; batch segment
  jobs of aws-item-affinity and aws-item-attribute-affinity to a local folder and to S3.
- VIDEO_ON_DEMAND on ``personalize-poc/``: the same with its ``watch`` / ``click`` events (the
  domain's ``Watch`` / ``Click``: event types match case-insensitively) and a GENRES filter. The
  item file's ``GENRE`` is the domain's ``GENRES`` and its ``YEAR`` gives the required
  ``CREATION_TIMESTAMP``: the test imports that mapped copy of the file.

Each data set is imported once, and all its models are queued before any is waited on. One test
per data set, in steps: the steps share the models, and xdist would otherwise be free to run them
on different workers, each with its own server importing and training everything again.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from botocore.exceptions import ClientError

from tests.contract.data_flow import (
    RANKING_KEYS,
    ROLE,
    create_group,
    s3_fixture,
    s3_server_fixture,
)
from tests.contract.reference_data import retail_schemas
from tests.contract.server import RunningServer, wait_for
from tests.schemas import BASIC_INTERACTIONS, avro

pytestmark = pytest.mark.shared_data

RECIPE = "arn:aws:personalize:::recipe/"
BUCKET = "workflows"
NO_EXPLORATION = {"itemExplorationConfig": {"explorationWeight": "0"}}
TRAINING_TIMEOUT = 240

s3 = s3_fixture(BUCKET)
# AWS's minimum-data rules (RunningServer lowers them for the tiny data sets of other tests).
server = s3_server_fixture(
    {
        "min_import_records": 1000,
        "min_interactions": 1000,
        "min_users_with_two": 25,
        "workers": 2,
        # A training job's heartbeats can lag on a loaded machine: a short lease would hand the
        # job to the other worker and train twice.
        "job_lease_seconds": 60,
    }
)

ECOMMERCE_USE_CASES = (
    "aws-ecomm-customers-who-viewed-x-also-viewed",
    "aws-ecomm-frequently-bought-together",
    "aws-ecomm-popular-items-by-purchases",
    "aws-ecomm-popular-items-by-views",
    "aws-ecomm-recommended-for-you",
)
VOD_USE_CASES = (
    "aws-vod-because-you-watched-x",
    "aws-vod-more-like-x",
    "aws-vod-most-popular",
    "aws-vod-trending-now",
    "aws-vod-top-picks",
)
RETAIL_RECIPES = ("aws-user-personalization", "aws-item-affinity", "aws-item-attribute-affinity")

RETAIL_SCHEMAS = retail_schemas("CATEGORY_L2", "GENDER")
POC_SCHEMAS = {
    "Interactions": BASIC_INTERACTIONS,
    "Items": avro(
        "Items",
        [("ITEM_ID", "string"), ("GENRES", "string"), ("YEAR", ["null", "string"]),
         ("CREATION_TIMESTAMP", ["null", "long"])],
        GENRES={"categorical": True},
    ),
}  # fmt: skip

# The one user per data set whose history a step changes with PutEvents (the last step); every
# other user's real-time answers stay those of the bulk history, which batch jobs read.
RETAIL_EVENT_USER = "5999"
POC_EVENT_USER = "600"


# --- the source files, read in the test process to know the right answers ----------------------


def read_strings(path: Path) -> dict[str, list[str]]:
    """Every column of a CSV file (gzip or not) as strings, empty cells as ""."""
    names = pacsv.read_csv(path, read_options=pacsv.ReadOptions(skip_rows_after_names=1 << 30))
    types = {name: pa.string() for name in names.column_names}
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    return {name: [v or "" for v in table[name].to_pylist()] for name in table.column_names}


def rows_by_id(columns: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """The rows of a file keyed by its first column (the id)."""
    names = list(columns)
    rows = (dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True))
    return {row[names[0]]: row for row in rows}


@dataclass
class Source:
    """What a data set's files say."""

    users: set[str]  # users with interactions
    items: dict[str, dict[str, str]]  # item id → Items row
    events: dict[str, dict[str, set[str]]]  # event type → user → items
    counts: dict[str, Counter[str]]  # event type → item → events
    user_counts: dict[str, Counter[str]]  # event type → user → events
    user_rows: dict[str, dict[str, str]] = field(default_factory=dict)  # user id → Users row

    @classmethod
    def read(cls, interactions: Path, items: Path, users: Path | None = None) -> Source:
        columns = read_strings(interactions)
        events: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        user_counts: dict[str, Counter[str]] = defaultdict(Counter)
        for user, item, event_type in zip(
            columns["USER_ID"], columns["ITEM_ID"], columns["EVENT_TYPE"], strict=True
        ):
            events[event_type][user].add(item)
            counts[event_type][item] += 1
            user_counts[event_type][user] += 1
        return cls(
            set(columns["USER_ID"]),
            rows_by_id(read_strings(items)),
            events,
            counts,
            user_counts,
            rows_by_id(read_strings(users)) if users else {},
        )

    def top(self, event_type: str, n: int) -> list[str]:
        """The ``n`` items with the most events of the type."""
        return [item for item, _ in self.counts[event_type].most_common(n)]

    def users_of(self, *items: str) -> set[str]:
        """Users with an event of any type on any of ``items``."""
        wanted = set(items)
        return {
            user
            for per_user in self.events.values()
            for user, theirs in per_user.items()
            if theirs & wanted
        }

    def column(self, name: str) -> dict[str, str]:
        """An Items column: item id → value."""
        return {item: row[name] for item, row in self.items.items()}


def vod_items_file(source: Path, target: Path) -> Path:
    """personalize-poc's item file in the VIDEO_ON_DEMAND layout: GENRE is the domain's GENRES;
    CREATION_TIMESTAMP (required there) is 1 January of YEAR ("2006–2007" → 2006; empty stays
    empty)."""
    with source.open(newline="", encoding="utf-8") as inp, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["ITEM_ID", "GENRES", "YEAR", "CREATION_TIMESTAMP"])
        for row in csv.DictReader(inp):
            year = re.match(r"\d{4}", row["YEAR"])
            created = int(datetime(int(year.group()), 1, 1, tzinfo=UTC).timestamp()) if year else ""
            writer.writerow([row["ITEM_ID"], row["GENRE"], row["YEAR"], created])
    return target


# --- one domain dataset group per data set, built once for the module --------------------------


@dataclass
class Workflow:
    """A domain dataset group with its data imported: recommenders (use case → ARN), custom
    solution versions (recipe → ARN), the event tracker and the source data."""

    name: str
    group: str
    tracking_id: str
    source: Source
    recommenders: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


def import_workflow(
    p: Any,
    name: str,
    domain: str,
    schemas: dict[str, str],
    files: dict[str, Path],
    source: Callable[[], Source],
) -> Workflow:
    """Create the group, import every file (the jobs run while ``source()`` reads the files in
    this process) and wait for the imports."""
    group, datasets = create_group(p, name, schemas, domain=domain)
    jobs = [
        p.create_dataset_import_job(
            jobName=f"{name}-{kind}",
            datasetArn=datasets[kind],
            dataSource={"dataLocation": str(path)},
            roleArn=ROLE,
        )["datasetImportJobArn"]
        for kind, path in files.items()
    ]
    known = source()
    for job in jobs:
        done = wait_for(
            p.describe_dataset_import_job, "datasetImportJob", timeout=120, datasetImportJobArn=job
        )
        assert done["status"] == "ACTIVE", done.get("failureReason")
    tracking_id = p.create_event_tracker(name=name, datasetGroupArn=group)["trackingId"]
    return Workflow(name, group, tracking_id, known)


def queue_models(
    p: Any, flow: Workflow, use_cases: tuple[str, ...], recipes: tuple[str, ...] = ()
) -> None:
    """A recommender per use case and a solution version per recipe (Personalize allows custom
    solutions in a domain group), none waited on."""
    for use_case in use_cases:
        flow.recommenders[use_case] = p.create_recommender(
            name=f"{flow.name}-{use_case.split('-', 2)[2]}",
            datasetGroupArn=flow.group,
            recipeArn=RECIPE + use_case,
        )["recommenderArn"]
    for recipe in recipes:
        solution = p.create_solution(
            name=f"{flow.name}-{recipe}", datasetGroupArn=flow.group, recipeArn=RECIPE + recipe
        )["solutionArn"]
        version = p.create_solution_version(solutionArn=solution)
        flow.versions[recipe] = version["solutionVersionArn"]


@pytest.fixture(scope="module")
def retail(server: RunningServer, shared_data: Path) -> Workflow:
    p = server.client("personalize")
    files = {
        "Interactions": shared_data / "retail" / "interactions.csv.gz",
        "Items": shared_data / "retail" / "items.csv",
        "Users": shared_data / "retail" / "users.csv",
    }
    flow = import_workflow(
        p, "retail", "ECOMMERCE", RETAIL_SCHEMAS, files, lambda: Source.read(*files.values())
    )
    queue_models(p, flow, ECOMMERCE_USE_CASES, RETAIL_RECIPES)
    return flow


@pytest.fixture(scope="module")
def poc(
    server: RunningServer, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Workflow:
    p = server.client("personalize")
    folder = shared_data / "personalize-poc"
    files = {
        "Interactions": folder / "interactions.csv",
        "Items": vod_items_file(
            folder / "item-meta.csv", tmp_path_factory.mktemp("poc") / "items.csv"
        ),
    }
    flow = import_workflow(
        p, "poc", "VIDEO_ON_DEMAND", POC_SCHEMAS, files, lambda: Source.read(*files.values())
    )
    queue_models(p, flow, VOD_USE_CASES)
    return flow


# --- helpers ------------------------------------------------------------------------------------


def active_recommender(p: Any, arn: str) -> dict[str, Any]:
    described = wait_for(
        p.describe_recommender, "recommender", timeout=TRAINING_TIMEOUT, recommenderArn=arn
    )
    assert described["status"] == "ACTIVE", (arn, described.get("failureReason"))
    return described


def active_version(p: Any, arn: str) -> dict[str, Any]:
    described = wait_for(
        p.describe_solution_version,
        "solutionVersion",
        timeout=TRAINING_TIMEOUT,
        solutionVersionArn=arn,
    )
    assert described["status"] == "ACTIVE", (arn, described.get("failureReason"))
    return described


def ids(response: dict[str, Any]) -> list[str]:
    return [entry["itemId"] for entry in response["itemList"]]


def recommend(runtime: Any, arn: str, **params: Any) -> list[str]:
    return ids(runtime.get_recommendations(recommenderArn=arn, **params))


def error_code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(**params)
    return str(info.value.response["Error"]["Code"])


def create_filter(p: Any, flow: Workflow, name: str, expression: str) -> str:
    arn: str = p.create_filter(name=name, datasetGroupArn=flow.group, filterExpression=expression)[
        "filterArn"
    ]
    assert wait_for(p.describe_filter, "filter", filterArn=arn)["status"] == "ACTIVE"
    return arn


def quoted(values: str) -> set[str]:
    """The values of a filterValues string: '"a","b"' → {"a", "b"}."""
    return set(re.findall(r'"([^"]*)"', values))


def put_event(
    events: Any, flow: Workflow, user: str, event_type: str, item: str, **extra: Any
) -> None:
    events.put_events(
        trackingId=flow.tracking_id,
        userId=user,
        sessionId=f"session-{user}",
        eventList=[{"eventType": event_type, "itemId": item, "sentAt": time.time(), **extra}],
    )


def recommenders_train_with_metrics(p: Any, flow: Workflow) -> dict[str, dict[str, float]]:
    """Wait for every recommender; each is ACTIVE with its use case's recipe and metrics."""
    metrics = {}
    for use_case, arn in flow.recommenders.items():
        described = active_recommender(p, arn)
        assert described["recipeArn"] == RECIPE + use_case
        assert described["datasetGroupArn"] == flow.group
        metrics[use_case] = described["modelMetrics"]
        assert set(metrics[use_case]) >= RANKING_KEYS, use_case
        assert all(0.0 <= v <= 1.0 for v in metrics[use_case].values()), (use_case, metrics)
    return metrics


# --- ECOMMERCE and batch jobs on retail ----------------------------------------------------------


def test_ecommerce_workflow_and_batch_jobs_on_retail(
    personalize: Any,
    runtime: Any,
    events: Any,
    retail: Workflow,
    s3: tuple[str, Any],
    tmp_path: Path,
) -> None:
    metrics = recommenders_train_with_metrics(personalize, retail)
    # The personalized use case learns what a popularity list cannot.
    assert (
        metrics["aws-ecomm-recommended-for-you"]["precision_at_25"]
        > metrics["aws-ecomm-popular-items-by-views"]["precision_at_25"]
    )
    ecommerce_use_cases_take_their_inputs(runtime, retail)
    campaign = campaign_without_exploration(personalize, retail)
    recommended_for_you_never_returns_purchases(runtime, retail, campaign)
    category_filter_with_a_parameter(personalize, runtime, retail)
    batch_inference_through_s3_equals_realtime(personalize, runtime, retail, campaign, s3, tmp_path)
    batch_segments_to_a_folder_and_to_s3(personalize, retail, s3, tmp_path)
    a_purchase_leaves_recommended_for_you_at_once(runtime, events, retail)


def ecommerce_use_cases_take_their_inputs(runtime: Any, retail: Workflow) -> None:
    arns, source = retail.recommenders, retail.source
    user = "17"
    viewed = sorted(source.events["View"][user])[0]
    best_seller = source.top("Purchase", 1)[0]
    by_purchases = recommend(runtime, arns["aws-ecomm-popular-items-by-purchases"], userId=user)
    by_views = recommend(runtime, arns["aws-ecomm-popular-items-by-views"], userId=user)
    also_viewed = recommend(
        runtime, arns["aws-ecomm-customers-who-viewed-x-also-viewed"], userId=user, itemId=viewed
    )
    bought_together = recommend(
        runtime, arns["aws-ecomm-frequently-bought-together"], itemId=best_seller
    )
    for_you = recommend(runtime, arns["aws-ecomm-recommended-for-you"], userId=user)
    for answer in (by_purchases, by_views, also_viewed, bought_together, for_you):
        assert len(answer) == 25 and len(set(answer)) == 25
        assert set(answer) <= set(source.items)
    # Best sellers and most viewed are the data's most purchased / viewed items (counted on the
    # model's training users, so the order may differ a little from the whole file's).
    assert set(by_purchases[:10]) <= set(source.top("Purchase", 40))
    assert set(by_views[:10]) <= set(source.top("View", 20))
    assert by_purchases != by_views
    assert recommend(runtime, arns["aws-ecomm-popular-items-by-views"], userId="1") == by_views
    assert viewed not in also_viewed
    assert best_seller not in bought_together

    # The inputs a use case cannot do without (spec §3.1).
    get = runtime.get_recommendations
    code = error_code(get, recommenderArn=arns["aws-ecomm-recommended-for-you"])
    assert code == "InvalidInputException"
    for use_case in (
        "aws-ecomm-customers-who-viewed-x-also-viewed",
        "aws-ecomm-frequently-bought-together",
    ):
        code = error_code(get, recommenderArn=arns[use_case], userId=user)
        assert code == "InvalidInputException", use_case


def campaign_without_exploration(p: Any, retail: Workflow) -> str:
    """A campaign on the custom aws-user-personalization version with exploration off: the
    real-time side of the batch comparison, and a model that excludes nothing by itself."""
    version = active_version(p, retail.versions["aws-user-personalization"])
    arn: str = p.create_campaign(
        name="retail-up",
        solutionVersionArn=version["solutionVersionArn"],
        campaignConfig=NO_EXPLORATION,
    )["campaignArn"]
    # Its deployment job queues behind the group's trainings.
    campaign = wait_for(p.describe_campaign, "campaign", timeout=TRAINING_TIMEOUT, campaignArn=arn)
    assert campaign["status"] == "ACTIVE", campaign.get("failureReason")
    return arn


def recommended_for_you_never_returns_purchases(
    runtime: Any, retail: Workflow, campaign: str
) -> None:
    arns, source = retail.recommenders, retail.source
    purchases, views = source.events["Purchase"], source.events["View"]
    buyers = sorted((u for u in purchases if u != RETAIL_EVENT_USER), key=int)[:40]
    not_excluded = 0
    for user in buyers:
        bought = purchases[user]
        for_you = recommend(
            runtime, arns["aws-ecomm-recommended-for-you"], userId=user, numResults=100
        )
        assert len(for_you) == 100 and not bought & set(for_you), user
        also_viewed = recommend(
            runtime,
            arns["aws-ecomm-customers-who-viewed-x-also-viewed"],
            userId=user,
            itemId=sorted(views[user] - bought)[0],
            numResults=50,
        )
        assert not bought & set(also_viewed), user
        plain = ids(runtime.get_recommendations(campaignArn=campaign, userId=user, numResults=100))
        not_excluded += len(bought & set(plain))
    # A model that excludes nothing ranks some of these purchases in its first 100: the check
    # above bites.
    assert not_excluded


def category_filter_with_a_parameter(p: Any, runtime: Any, retail: Workflow) -> None:
    flt = create_filter(
        p, retail, "retail-category", "INCLUDE ItemID WHERE Items.CATEGORY_L1 IN ($CATEGORY)"
    )
    category = retail.source.column("CATEGORY_L1")
    user = "23"
    bought = retail.source.events["Purchase"][user]
    viewed = sorted(retail.source.events["View"][user])[0]
    inputs: dict[str, dict[str, str]] = {
        "aws-ecomm-recommended-for-you": {"userId": user},
        "aws-ecomm-popular-items-by-views": {"userId": user},
        "aws-ecomm-customers-who-viewed-x-also-viewed": {"userId": user, "itemId": viewed},
    }
    for values in ('"footwear"', '"jewelry","books"'):
        for use_case, params in inputs.items():
            answer = recommend(
                runtime,
                retail.recommenders[use_case],
                filterArn=flt,
                filterValues={"CATEGORY": values},
                **params,
            )
            assert len(answer) == 25, (use_case, values)
            assert {category[i] for i in answer} <= quoted(values), (use_case, values)
            if use_case != "aws-ecomm-popular-items-by-views":
                assert not bought & set(answer)  # the automatic exclusion comes first
    code = error_code(  # an INCLUDE expression needs its value
        runtime.get_recommendations,
        recommenderArn=retail.recommenders["aws-ecomm-recommended-for-you"],
        userId=user,
        filterArn=flt,
    )
    assert code == "InvalidInputException"


def a_purchase_leaves_recommended_for_you_at_once(
    runtime: Any, events: Any, retail: Workflow
) -> None:
    for_you = retail.recommenders["aws-ecomm-recommended-for-you"]
    also_viewed = retail.recommenders["aws-ecomm-customers-who-viewed-x-also-viewed"]
    user = RETAIL_EVENT_USER
    viewed = sorted(retail.source.events["View"][user])[0]
    before = recommend(runtime, for_you, userId=user)
    bought = before[0]
    assert bought not in retail.source.events["Purchase"].get(user, set())
    # DISCOUNT travels as a property, camelCased as Personalize clients send it.
    put_event(events, retail, user, "Purchase", bought, properties=json.dumps({"discount": "Yes"}))
    after = recommend(runtime, for_you, userId=user)
    assert bought not in after and len(after) == 25
    assert bought not in recommend(runtime, also_viewed, userId=user, itemId=viewed, numResults=100)


def batch_job(
    p: Any,
    kind: str,
    name: str,
    version: str,
    lines: list[dict[str, Any]],
    where: tuple[Path, tuple[str, Any] | None],
    **extra: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run a batch ``kind`` ("inference" or "segment") job on ``lines`` written to one input
    file, in a local folder (``where`` = (folder, None)) or through S3 ((_, s3)); the finished
    job and its output records, checked to echo the input lines in order."""
    folder, s3 = where
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    if s3 is None:
        (folder / name / "in").mkdir(parents=True)
        (folder / name / "in" / "lines.json").write_bytes(body)
        source, out = str(folder / name / "in"), str(folder / name / "out")
    else:
        s3[1].put_object(Bucket=BUCKET, Key=f"{name}/in/lines.json", Body=body)
        source, out = f"s3://{BUCKET}/{name}/in/", f"s3://{BUCKET}/{name}/out/"
    if kind == "inference":
        create, describe, key = (
            p.create_batch_inference_job,
            p.describe_batch_inference_job,
            "batchInferenceJob",
        )
    else:
        create, describe, key = (
            p.create_batch_segment_job,
            p.describe_batch_segment_job,
            "batchSegmentJob",
        )
    arn = create(
        jobName=name,
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": source}},
        jobOutput={"s3DataDestination": {"path": out}},
        roleArn=ROLE,
        **extra,
    )[key + "Arn"]
    job = wait_for(describe, key, timeout=120, **{key + "Arn": arn})
    assert job["status"] == "ACTIVE", (name, job.get("failureReason"))
    if s3 is None:
        assert [f.name for f in (folder / name / "out").iterdir()] == ["lines.json.out"]
        text = (folder / name / "out" / "lines.json.out").read_text()
    else:
        listed = s3[1].list_objects_v2(Bucket=BUCKET, Prefix=f"{name}/out/")["Contents"]
        assert [o["Key"] for o in listed] == [f"{name}/out/lines.json.out"]
        text = s3[1].get_object(Bucket=BUCKET, Key=listed[0]["Key"])["Body"].read().decode()
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["input"] for r in records] == lines, name
    for record in records:
        assert set(record) == {"input", "output", "error"}
        assert record["error"] is None, (name, record)
    return job, records


def batch_inference_through_s3_equals_realtime(
    p: Any, runtime: Any, retail: Workflow, campaign: str, s3: tuple[str, Any], tmp_path: Path
) -> None:
    # Items of the line's categories, less what the user bought: an Items and an Interactions
    # expression.
    flt = create_filter(
        p,
        retail,
        "retail-batch",
        "INCLUDE ItemID WHERE Items.CATEGORY_L1 IN ($CATEGORY) | "
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("Purchase")',
    )
    choices = ['"footwear"', '"apparel","accessories"', '"housewares"', '"electronics","tools"']
    users = sorted(retail.source.users - {RETAIL_EVENT_USER}, key=int)[:60]
    lines: list[dict[str, Any]] = [
        {"userId": user, "filterValues": {"CATEGORY": choices[k % len(choices)]}}
        for k, user in enumerate(users)
    ]
    lines.append({"userId": "a-new-shopper", "filterValues": {"CATEGORY": '"furniture"'}})
    job, records = batch_job(
        p, "inference", "retail-batch", retail.versions["aws-user-personalization"], lines,
        (tmp_path, s3), filterArn=flt, numResults=15, batchInferenceJobConfig=NO_EXPLORATION,
    )  # fmt: skip
    assert job["numResults"] == 15 and job["filterArn"] == flt

    category = retail.source.column("CATEGORY_L1")
    purchases = retail.source.events["Purchase"]
    for record in records:
        user, values = record["input"]["userId"], record["input"]["filterValues"]
        expected = runtime.get_recommendations(
            campaignArn=campaign, userId=user, numResults=15, filterArn=flt, filterValues=values
        )["itemList"]
        output = record["output"]
        assert output["recommendedItems"] == [i["itemId"] for i in expected], user
        assert output["scores"] == pytest.approx([i["score"] for i in expected], rel=1e-4), user
        assert len(output["recommendedItems"]) == 15
        assert {category[i] for i in output["recommendedItems"]} <= quoted(values["CATEGORY"])
        assert not purchases.get(user, set()) & set(output["recommendedItems"])


def batch_segments_to_a_folder_and_to_s3(
    p: Any, retail: Workflow, s3: tuple[str, Any], tmp_path: Path
) -> None:
    source = retail.source
    gender = {user: row["GENDER"] for user, row in source.user_rows.items()}
    category = source.column("CATEGORY_L1")
    popular = source.top("View", 3)
    items = [{"itemId": item} for item in [*popular, sorted(source.items)[0]]]
    flt = create_filter(
        p, retail, "retail-segment-gender", "INCLUDE UserID WHERE Users.GENDER IN ($GENDER)"
    )
    queries = [
        {"itemAttributes": 'ITEMS.CATEGORY_L1 = "footwear"', "filterValues": {"GENDER": '"F"'}},
        {"itemAttributes": 'ITEMS.CATEGORY_L1 = "apparel" AND ITEMS.GENDER = "M"',
         "filterValues": {"GENDER": '"M"'}},
        {"itemAttributes": 'ITEMS.CATEGORY_L1 = "jewelry"', "filterValues": {"GENDER": '"F","M"'}},
    ]  # fmt: skip
    affinity = active_version(p, retail.versions["aws-item-affinity"])["solutionVersionArn"]
    attributes = active_version(p, retail.versions["aws-item-attribute-affinity"])
    for where in ((tmp_path, None), (tmp_path, s3)):
        suffix = "s3" if where[1] else "folder"
        job, records = batch_job(
            p, "segment", f"retail-affinity-{suffix}", affinity, items, where, numResults=40
        )
        assert job["numResults"] == 40
        for record in records:
            segment = record["output"]["usersList"]
            assert len(segment) == 40 and len(set(segment)) == 40
            assert set(segment) <= source.users
            item = record["input"]["itemId"]
            if item in popular:  # its segment is about the item: 4 % of all shoppers had it
                assert len(set(segment) & source.users_of(item)) >= 20, item

        job, records = batch_job(
            p, "segment", f"retail-attributes-{suffix}", attributes["solutionVersionArn"],
            queries, where, filterArn=flt, numResults=30,
        )  # fmt: skip
        assert job["numResults"] == 30 and job["filterArn"] == flt
        for record in records:
            segment = record["output"]["usersList"]
            assert len(segment) == 30 and len(set(segment)) == 30
            assert set(segment) <= source.users
            assert {gender[u] for u in segment} <= quoted(record["input"]["filterValues"]["GENDER"])
            wanted = re.search(r'CATEGORY_L1 = "(\w+)"', record["input"]["itemAttributes"])
            assert wanted is not None
            shoppers = source.users_of(*(i for i, c in category.items() if c == wanted[1]))
            assert len(set(segment) & shoppers) >= 20, record["input"]


# --- VIDEO_ON_DEMAND on personalize-poc ----------------------------------------------------------


def test_video_on_demand_workflow_on_personalize_poc(
    personalize: Any, runtime: Any, events: Any, poc: Workflow
) -> None:
    recommenders_train_with_metrics(personalize, poc)
    vod_use_cases_take_their_inputs(runtime, poc)
    vod_never_recommends_what_was_watched(runtime, poc)
    genre_filter(personalize, runtime, poc)
    a_watch_leaves_top_picks_at_once(runtime, events, poc)


def vod_use_cases_take_their_inputs(runtime: Any, poc: Workflow) -> None:
    arns, source = poc.recommenders, poc.source
    user = "1"
    watched = sorted(source.events["watch"][user])[0]
    answers = {
        "aws-vod-because-you-watched-x": recommend(
            runtime, arns["aws-vod-because-you-watched-x"], userId=user, itemId=watched
        ),
        "aws-vod-more-like-x": recommend(
            runtime, arns["aws-vod-more-like-x"], userId=user, itemId=watched
        ),
        "aws-vod-most-popular": recommend(runtime, arns["aws-vod-most-popular"], userId=user),
        "aws-vod-trending-now": recommend(runtime, arns["aws-vod-trending-now"], userId=user),
        "aws-vod-top-picks": recommend(runtime, arns["aws-vod-top-picks"], userId=user),
    }
    for use_case, answer in answers.items():
        assert len(answer) == 25 and len(set(answer)) == 25, use_case
        assert set(answer) <= set(source.items), use_case
    assert watched not in answers["aws-vod-because-you-watched-x"]
    assert watched not in answers["aws-vod-more-like-x"]
    assert set(answers["aws-vod-most-popular"][:10]) <= set(source.top("watch", 40))
    assert len(recommend(runtime, arns["aws-vod-trending-now"])) == 25  # needs no user

    get = runtime.get_recommendations
    assert error_code(get, recommenderArn=arns["aws-vod-top-picks"]) == "InvalidInputException"
    code = error_code(get, recommenderArn=arns["aws-vod-more-like-x"], userId=user)
    assert code == "InvalidInputException"


def vod_never_recommends_what_was_watched(runtime: Any, poc: Workflow) -> None:
    arns, watches = poc.recommenders, poc.source.events["watch"]
    # Personalize excludes the items of a user's 100 latest events of the type: these users have
    # no more.
    counts = poc.source.user_counts["watch"]
    viewers = sorted((u for u in watches if counts[u] <= 100 and u != POC_EVENT_USER), key=int)
    for user in viewers[:40]:
        watched = watches[user]
        top_picks = recommend(runtime, arns["aws-vod-top-picks"], userId=user, numResults=100)
        assert len(top_picks) == 100 and not watched & set(top_picks), user
        seed = sorted(watched)[0]
        for use_case in ("aws-vod-because-you-watched-x", "aws-vod-more-like-x"):
            answer = recommend(runtime, arns[use_case], userId=user, itemId=seed, numResults=50)
            assert not watched & set(answer), (use_case, user)


def genre_filter(p: Any, runtime: Any, poc: Workflow) -> None:
    flt = create_filter(p, poc, "poc-genres", "INCLUDE ItemID WHERE Items.GENRES IN ($GENRES)")
    genres = {item: set(value.split("|")) for item, value in poc.source.column("GENRES").items()}
    user = "5"
    watched = poc.source.events["watch"][user]
    inputs: dict[str, dict[str, str]] = {
        "aws-vod-top-picks": {"userId": user},
        "aws-vod-most-popular": {"userId": user},
        "aws-vod-more-like-x": {"userId": user, "itemId": sorted(watched)[0]},
    }
    for values in ('"Horror"', '"Documentary","Western"'):
        for use_case, params in inputs.items():
            answer = recommend(
                runtime,
                poc.recommenders[use_case],
                filterArn=flt,
                filterValues={"GENRES": values},
                **params,
            )
            assert len(answer) == 25, (use_case, values)
            # A multi-valued GENRES cell matches when any of its genres is asked for.
            assert all(genres[i] & quoted(values) for i in answer), (use_case, values)
            if use_case != "aws-vod-most-popular":
                assert not watched & set(answer), (use_case, values)


def a_watch_leaves_top_picks_at_once(runtime: Any, events: Any, poc: Workflow) -> None:
    top_picks = poc.recommenders["aws-vod-top-picks"]
    user = POC_EVENT_USER
    before = recommend(runtime, top_picks, userId=user)
    # The data set writes "watch"; a client following the domain's docs sends "Watch".
    put_event(events, poc, user, "Watch", before[0])
    after = recommend(runtime, top_picks, userId=user)
    assert before[0] not in after and len(after) == 25
