"""Metric attribution end to end through boto3 against a real server: a campaign's
recommendationId and explicit eventAttributionSource values credit PutEvents to sources, an
incremental import counts, bulk imports with publishAttributionMetricsToS3 write the report to a
local folder and to (moto) S3, and the aggregates of ``/metrics`` survive a restart."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.data_flow import (
    ROLE,
    create_group,
    run_import,
    s3_fixture,
    s3_server_fixture,
)
from tests.contract.server import RunningServer, wait_for
from tests.schemas import BASIC_INTERACTIONS, INTERACTION_FIELDS, avro

INTERACTIONS = avro(
    "Interactions",
    [
        *INTERACTION_FIELDS,
        ("EVENT_VALUE", ["null", "float"]),
        ("EVENT_ATTRIBUTION_SOURCE", ["null", "string"]),
    ],
)
ITEMS = avro("Items", [("ITEM_ID", "string"), ("PRICE", ["null", "float"])])
METRICS = [
    {"eventType": "click", "metricName": "CLICKS", "expression": "SAMPLECOUNT()"},
    {"eventType": "buy", "metricName": "REVENUE", "expression": "SUM(Items.PRICE)"},
    {"eventType": "buy", "metricName": "VALUE", "expression": "SUM(Interactions.EVENT_VALUE)"},
]
UNDEFINED = "SOURCE_NAME_UNDEFINED"
SAMPLE = re.compile(r"^openpersonalize_metric_attribution_value\{(.*)\} (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
NOW = int(time.time())
WINDOW = NOW // 900 * 900
OLD = NOW - 20 * 24 * 3600  # older than 14 days: reported to S3, not to /metrics


def attribution_values(server: RunningServer) -> dict[tuple[str, str, str, int], float]:
    """(metric, event type, source, window start) → value, from ``GET /metrics``."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    out: dict[tuple[str, str, str, int], float] = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = dict(LABEL.findall(match.group(1)))
            key = (
                labels["metric_name"],
                labels["event_type"],
                labels["event_attribution_source"],
                int(labels["window_start"]),
            )
            out[key] = float(match.group(2))
    return out


def write_csv(path: Path, rows: list[tuple[Any, ...]], header: str) -> str:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return str(path)


s3 = s3_fixture("reports")
server = s3_server_fixture()


class World:
    """A dataset group with items, interactions, a popularity campaign and a metric
    attribution that reports to a local folder."""

    def __init__(self, server: RunningServer, tmp: Path) -> None:
        p = server.client("personalize")
        self.p, self.tmp = p, tmp
        self.group, self.datasets = create_group(
            p, "ma", {"Interactions": INTERACTIONS, "Items": ITEMS}
        )
        items = write_csv(tmp / "items.csv", [("i1", 10.0), ("i2", 2.5)], "ITEM_ID,PRICE")
        assert run_import(p, self.datasets["Items"], items, "ma-items")["status"] == "ACTIVE"
        history = [(f"u{n % 3}", f"i{n % 2 + 1}", OLD + n, "click", "", "") for n in range(12)]
        header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,EVENT_ATTRIBUTION_SOURCE"
        location = write_csv(tmp / "history.csv", history, header)
        job = run_import(p, self.datasets["Interactions"], location, "ma-history")
        assert job["status"] == "ACTIVE", job
        self.tracking_id = p.create_event_tracker(name="ma", datasetGroupArn=self.group)[
            "trackingId"
        ]
        solution = p.create_solution(
            name="ma-pop",
            datasetGroupArn=self.group,
            recipeArn="arn:aws:personalize:::recipe/aws-popularity-count",
        )["solutionArn"]
        version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        trained = wait_for(
            p.describe_solution_version, "solutionVersion", solutionVersionArn=version
        )
        assert trained["status"] == "ACTIVE", trained
        self.campaign = p.create_campaign(name="ma-pop", solutionVersionArn=version)["campaignArn"]
        assert wait_for(p.describe_campaign, "campaign", campaignArn=self.campaign)["status"] == (
            "ACTIVE"
        )
        self.reports = tmp / "reports"
        self.attribution = p.create_metric_attribution(
            name="ma",
            datasetGroupArn=self.group,
            metrics=METRICS,
            metricsOutputConfig={"roleArn": ROLE, "s3DataDestination": {"path": str(self.reports)}},
        )["metricAttributionArn"]


@pytest.fixture(scope="module")
def world(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(server, tmp_path_factory.mktemp("ma-files"))


def put_events_are_attributed_per_source_and_window(server: RunningServer, world: World) -> None:
    runtime = server.client("personalize-runtime")
    events = server.client("personalize-events")
    recommended = runtime.get_recommendations(campaignArn=world.campaign, userId="u1")
    rid = recommended["recommendationId"]
    assert recommended["itemList"]

    def put(*event_list: dict[str, Any]) -> None:
        events.put_events(
            trackingId=world.tracking_id, userId="u9", sessionId="s9", eventList=list(event_list)
        )

    put(
        {"eventType": "click", "sentAt": NOW, "itemId": "i1", "recommendationId": rid},
        {"eventType": "click", "sentAt": NOW, "itemId": "i2", "recommendationId": rid},
        {"eventType": "click", "sentAt": NOW, "itemId": "i2"},  # no source
        # Both given: the explicit source wins.
        {
            "eventType": "click",
            "sentAt": NOW,
            "itemId": "i1",
            "recommendationId": rid,
            "metricAttribution": {"eventAttributionSource": "email"},
        },
        {"eventType": "click", "sentAt": OLD, "itemId": "i1", "recommendationId": rid},
    )
    put(
        {
            "eventType": "buy",
            "sentAt": NOW,
            "itemId": "i1",
            "eventValue": 3.0,
            "metricAttribution": {"eventAttributionSource": "email"},
        },
        {"eventType": "buy", "sentAt": NOW, "itemId": "i2", "eventValue": 1.5},
        {"eventType": "buy", "sentAt": NOW, "itemId": "unknown", "recommendationId": rid},
    )
    values = attribution_values(server)
    assert values == {
        ("CLICKS", "click", world.campaign, WINDOW): 2.0,
        ("CLICKS", "click", UNDEFINED, WINDOW): 1.0,
        ("CLICKS", "click", "email", WINDOW): 1.0,
        ("REVENUE", "buy", "email", WINDOW): 10.0,
        ("REVENUE", "buy", UNDEFINED, WINDOW): 2.5,
        ("REVENUE", "buy", world.campaign, WINDOW): 0.0,  # an item without a price
        ("VALUE", "buy", "email", WINDOW): 3.0,
        ("VALUE", "buy", UNDEFINED, WINDOW): 1.5,
        ("VALUE", "buy", world.campaign, WINDOW): 0.0,
    }
    text = httpx.get(server.url + "/metrics", timeout=10).text
    assert "# TYPE openpersonalize_metric_attribution_value gauge" in text
    assert re.search(r"^openpersonalize_put_events_accepted_total 8$", text, re.M)
    assert re.search(
        r'^openpersonalize_requests_total\{service="personalize-events",operation="PutEvents"\} 2$',
        text,
        re.M,
    )


def incremental_import_counts_and_reports(server: RunningServer, world: World) -> None:
    before = attribution_values(server)
    rows = [
        ("u1", "i1", NOW, "click", "", "newsletter"),
        ("u2", "i2", NOW, "click", "", "newsletter"),
        ("u2", "i2", NOW, "buy", "4.0", "newsletter"),
        ("u2", "i1", OLD, "click", "", "newsletter"),  # too old for /metrics
    ]
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,EVENT_ATTRIBUTION_SOURCE"
    location = write_csv(world.tmp / "incremental.csv", rows, header)
    job = world.p.create_dataset_import_job(
        jobName="ma-incremental",
        datasetArn=world.datasets["Interactions"],
        dataSource={"dataLocation": location},
        roleArn=ROLE,
        importMode="INCREMENTAL",
        publishAttributionMetricsToS3=True,
    )["datasetImportJobArn"]
    done = wait_for(
        world.p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job
    )
    assert done["status"] == "ACTIVE", done

    after = attribution_values(server)
    added = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}
    assert added == {
        ("CLICKS", "click", "newsletter", WINDOW): 2.0,
        ("REVENUE", "buy", "newsletter", WINDOW): 2.5,
        ("VALUE", "buy", "newsletter", WINDOW): 4.0,
    }
    reports = list(world.reports.glob("AggregatedAttributionMetrics - INCREMENTAL - *.csv"))
    assert len(reports) == 1
    report = list(csv.DictReader(io.StringIO(reports[0].read_text())))
    assert {
        (r["METRIC_NAME"], r["EVENT_ATTRIBUTION_SOURCE"], int(r["TIMESTAMP"])): (
            r["VALUE"],
            r["MATH_FUNCTION"],
        )
        for r in report
    } == {
        ("CLICKS", "newsletter", WINDOW): ("2.0", "samplecount"),
        ("CLICKS", "newsletter", OLD // 900 * 900): ("1.0", "samplecount"),
        ("REVENUE", "newsletter", WINDOW): ("2.5", "sum"),
        ("VALUE", "newsletter", WINDOW): ("4.0", "sum"),
    }


def full_import_report_to_s3(world: World, s3: tuple[str, Any]) -> None:
    _endpoint, client = s3
    world.p.update_metric_attribution(
        metricAttributionArn=world.attribution,
        metricsOutputConfig={"roleArn": ROLE, "s3DataDestination": {"path": "s3://reports/ma/"}},
    )
    rows = [(f"u{n}", "i1", NOW, "click", "", "") for n in range(3)]
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,EVENT_ATTRIBUTION_SOURCE"
    location = write_csv(world.tmp / "full.csv", rows, header)
    job = world.p.create_dataset_import_job(
        jobName="ma-full",
        datasetArn=world.datasets["Interactions"],
        dataSource={"dataLocation": location},
        roleArn=ROLE,
        importMode="FULL",
        publishAttributionMetricsToS3=True,
    )["datasetImportJobArn"]
    done = wait_for(
        world.p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job
    )
    assert done["status"] == "ACTIVE", done
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="reports")["Contents"]]
    assert len(keys) == 1
    assert re.fullmatch(r"ma/AggregatedAttributionMetrics - FULL - \d+\.csv", keys[0])
    text = client.get_object(Bucket="reports", Key=keys[0])["Body"].read().decode()
    assert text.splitlines() == [
        "METRIC_NAME,EVENT_TYPE,VALUE,MATH_FUNCTION,EVENT_ATTRIBUTION_SOURCE,TIMESTAMP",
        f"CLICKS,click,3.0,samplecount,{UNDEFINED},{WINDOW}",
    ]


def aggregates_survive_a_restart(server: RunningServer, world: World) -> None:
    before = attribution_values(server)
    assert before[("CLICKS", "click", world.campaign, WINDOW)] == 2.0
    server.stop()
    server.start()
    assert attribution_values(server) == before
    # A recommendationId issued before the restart still resolves (it was persisted).
    events = server.client("personalize-events")
    runtime = server.client("personalize-runtime")
    rid = runtime.get_recommendations(campaignArn=world.campaign, userId="u2")["recommendationId"]
    server.stop()
    server.start()
    events.put_events(
        trackingId=world.tracking_id,
        sessionId="s10",
        eventList=[{"eventType": "click", "sentAt": NOW, "itemId": "i1", "recommendationId": rid}],
    )
    assert attribution_values(server)[("CLICKS", "click", world.campaign, WINDOW)] == 3.0


def test_metric_attribution_end_to_end(
    server: RunningServer, world: World, s3: tuple[str, Any]
) -> None:
    # One test in steps: each step builds on the state the previous ones left (and xdist would
    # otherwise be free to run them on different workers, against different servers).
    put_events_are_attributed_per_source_and_window(server, world)
    incremental_import_counts_and_reports(server, world)
    full_import_report_to_s3(world, s3)
    aggregates_survive_a_restart(server, world)


def test_basic_schema_group_without_attribution_is_untouched(server: RunningServer) -> None:
    p = server.client("personalize")
    group, _datasets = create_group(p, "ma-plain", {"Interactions": BASIC_INTERACTIONS})
    tracking = p.create_event_tracker(name="ma-plain", datasetGroupArn=group)["trackingId"]
    before = attribution_values(server)
    server.client("personalize-events").put_events(
        trackingId=tracking,
        sessionId="s",
        eventList=[{"eventType": "click", "sentAt": NOW, "itemId": "x"}],
    )
    assert attribution_values(server) == before
