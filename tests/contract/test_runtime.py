"""personalize-runtime through boto3 against a real server: campaigns, filters, promotions,
personalized ranking, unknown users, argument errors and a campaign update under load.

Data: the known-answer world of ``tests/unit/serving/world.py`` (60 users, 40 items), imported
with real import jobs and trained with real training jobs.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
import pytest
from botocore.exceptions import ClientError

from openpersonalize.controlplane import lifecycle
from openpersonalize.engine.artifacts import save_model
from openpersonalize.engine.recipes import get_recipe
from openpersonalize.engine.training_data import build_training_data
from openpersonalize.store.metadata import MetadataStore
from tests.contract.server import RunningServer, wait_for
from tests.unit.serving.world import (
    INTERACTIONS,
    ITEMS,
    N_WARM,
    USERS,
    interactions_table,
    items_table,
    users_table,
)

RECIPE = "arn:aws:personalize:::recipe/"
ROLE = "arn:aws:iam::123456789012:role/personalize"


class Setup:
    def __init__(self, server: RunningServer, personalize: Any, tmp: Path) -> None:
        self.server, self.p = server, personalize
        self.group = personalize.create_dataset_group(name="rt")["datasetGroupArn"]
        self.datasets: dict[str, str] = {}
        tables = {
            "Interactions": interactions_table(),
            "Items": items_table(),
            "Users": users_table(),
        }
        for kind, schema in (("Interactions", INTERACTIONS), ("Items", ITEMS), ("Users", USERS)):
            schema_arn = personalize.create_schema(name=f"rt-{kind}", schema=json.dumps(schema))[
                "schemaArn"
            ]
            self.datasets[kind] = personalize.create_dataset(
                name=f"rt-{kind}",
                datasetGroupArn=self.group,
                datasetType=kind,
                schemaArn=schema_arn,
            )["datasetArn"]
            path = tmp / f"{kind}.csv"
            pacsv.write_csv(tables[kind], path)
            job = personalize.create_dataset_import_job(
                jobName=f"rt-{kind}",
                datasetArn=self.datasets[kind],
                dataSource={"dataLocation": str(path)},
                roleArn=ROLE,
            )["datasetImportJobArn"]
            done = wait_for(
                personalize.describe_dataset_import_job,
                "datasetImportJob",
                datasetImportJobArn=job,
            )
            assert done["status"] == "ACTIVE", done
        self.tracking_id = personalize.create_event_tracker(name="rt", datasetGroupArn=self.group)[
            "trackingId"
        ]

    def version(self, recipe: str) -> str:
        solution = self.p.create_solution(
            name=f"rt-{recipe}", datasetGroupArn=self.group, recipeArn=RECIPE + recipe
        )["solutionArn"]
        arn = self.p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        version = wait_for(
            self.p.describe_solution_version, "solutionVersion", solutionVersionArn=arn
        )
        if version["status"] != "ACTIVE":  # no training job in this build: train here
            self._train_here(arn, recipe)
        return str(arn)

    def _train_here(self, arn: str, recipe: str) -> None:
        data = build_training_data(
            interactions_table(),
            items_table(),
            users_table(),
            items_schema=ITEMS,
            users_schema=USERS,
            minimums=None,
        )
        model = get_recipe(recipe).train(data, {}, np.random.default_rng(0))
        path = save_model(model, self.server.data_dir / "artifacts")
        store = MetadataStore(self.server.data_dir / "metadata.sqlite3")
        artifact = str(path.relative_to(self.server.data_dir))
        store.update(arn, status=lifecycle.ACTIVE, body={"artifact": artifact})
        store.close()

    def campaign(self, name: str, version: str, **extra: Any) -> str:
        arn = self.p.create_campaign(name=name, solutionVersionArn=version, **extra)["campaignArn"]
        campaign = wait_for(self.p.describe_campaign, "campaign", campaignArn=arn)
        assert campaign["status"] == "ACTIVE", campaign
        return str(arn)

    def filter(self, name: str, expression: str) -> str:
        arn = self.p.create_filter(
            name=name, datasetGroupArn=self.group, filterExpression=expression
        )["filterArn"]
        return str(arn)


@pytest.fixture(scope="module")
def setup(
    server: RunningServer, personalize: Any, tmp_path_factory: pytest.TempPathFactory
) -> Setup:
    return Setup(server, personalize, tmp_path_factory.mktemp("runtime-data"))


@pytest.fixture(scope="module")
def up(setup: Setup) -> str:
    return setup.campaign(
        "rt-up",
        setup.version("aws-user-personalization"),
        campaignConfig={"enableMetadataWithRecommendations": True},
    )


@pytest.fixture(scope="module")
def sims(setup: Setup) -> str:
    return setup.campaign("rt-sims", setup.version("aws-sims"))


def ids(response: dict[str, Any], key: str = "itemList") -> list[str]:
    return [i["itemId"] for i in response[key]]


def num(item_id: str) -> int:
    return int(item_id[1:])


def test_campaign_serves_recommendations(runtime: Any, up: str) -> None:
    out = runtime.get_recommendations(campaignArn=up, userId="u1")
    assert len(out["itemList"]) == 25
    assert out["recommendationId"].startswith("RID-")
    assert all(0 < i["score"] <= 1 for i in out["itemList"])
    meta = runtime.get_recommendations(
        campaignArn=up, userId="u1", numResults=3, metadataColumns={"ITEMS": ["GENRE", "YEAR"]}
    )
    assert len(meta["itemList"]) == 3
    assert all(set(i["metadata"]) == {"GENRE", "YEAR"} for i in meta["itemList"])


def test_item_filters(runtime: Any, setup: Setup, up: str) -> None:
    genre_in = setup.filter("rt-in", 'INCLUDE ItemID WHERE Items.GENRE IN ("comedy", "horror")')
    genre_not = setup.filter("rt-not-in", 'INCLUDE ItemID WHERE Items.GENRE NOT IN ("comedy")')
    year_lt = setup.filter("rt-lt", "INCLUDE ItemID WHERE Items.YEAR < 2000")
    param = setup.filter("rt-param", "INCLUDE ItemID WHERE items.genre IN ($GENRES)")
    chained = setup.filter(
        "rt-chain",
        'INCLUDE ItemID WHERE Items.YEAR >= $Y | EXCLUDE ItemID WHERE Items.GENRE IN ("drama")',
    )

    def get(flt: str, **values: str) -> list[int]:
        extra = {"filterValues": values} if values else {}
        out = runtime.get_recommendations(campaignArn=up, userId="u2", filterArn=flt, **extra)
        return [num(i) for i in ids(out)]

    assert get(genre_in) and all(i % 4 in (0, 2) for i in get(genre_in))
    # Every fourth item is a comedy (i0 and i20 are "comedy|drama": comedies too).
    not_comedy = get(genre_not)
    assert len(not_comedy) == 25 and all(i % 4 != 0 for i in not_comedy)
    assert sorted(get(year_lt)) == list(range(10))  # back-filled: all ten that qualify
    both = get(param, GENRES='"drama","action"')
    assert both and all(i % 4 in (1, 3) or i % 10 == 0 for i in both)
    # YEAR >= 2020 is i30 … i39; of those, i33 and i37 are dramas and i30 is "horror|drama".
    assert sorted(get(chained, Y="2020")) == [31, 32, 34, 35, 36, 38, 39]


def test_interactions_filter_sees_put_events_at_once(
    runtime: Any, events: Any, setup: Setup, up: str
) -> None:
    flt = setup.filter("rt-bought", 'EXCLUDE itemId WHERE interactions.event_type IN ("Purchase")')
    first = ids(runtime.get_recommendations(campaignArn=up, userId="u9", filterArn=flt))
    events.put_events(
        trackingId=setup.tracking_id,
        userId="u9",
        sessionId="s-9",
        eventList=[{"eventType": "purchase", "itemId": first[0], "sentAt": time.time()}],
    )
    second = ids(runtime.get_recommendations(campaignArn=up, userId="u9", filterArn=flt))
    assert first[0] not in second and len(second) == 25


def test_real_time_events_change_the_next_answer(
    runtime: Any, events: Any, setup: Setup, up: str
) -> None:
    before = ids(runtime.get_recommendations(campaignArn=up, userId="u20", numResults=10))
    events.put_events(
        trackingId=setup.tracking_id,
        userId="u20",
        sessionId="s-20",
        eventList=[
            {"eventType": "click", "itemId": f"i{i}", "sentAt": time.time() + k}
            for k, i in enumerate((31, 32, 33, 34, 31, 32, 33, 34, 31, 32))
        ],
    )
    after = ids(runtime.get_recommendations(campaignArn=up, userId="u20", numResults=10))
    assert before != after


def test_current_item_filter_for_related_items(runtime: Any, setup: Setup, sims: str) -> None:
    flt = setup.filter("rt-current", "INCLUDE ItemID WHERE Items.YEAR < CurrentItem.YEAR")
    out = ids(runtime.get_recommendations(campaignArn=sims, itemId="i12", filterArn=flt))
    assert out and all(num(i) < 12 for i in out)
    related = runtime.get_recommendations(campaignArn=sims, itemId="i3")["itemList"]
    assert len(related) == 25 and all("score" not in i for i in related)
    assert len(ids(runtime.get_recommendations(campaignArn=sims, itemId="never"))) == 25


def test_promotions(runtime: Any, setup: Setup, up: str) -> None:
    horror = setup.filter("rt-promo", "INCLUDE ItemID WHERE Items.GENRE IN ($G)")
    out = runtime.get_recommendations(
        campaignArn=up,
        userId="u4",
        numResults=10,
        promotions=[
            {
                "name": "spooky",
                "percentPromotedItems": 20,
                "filterArn": horror,
                "filterValues": {"G": '"horror"'},
            }
        ],
    )["itemList"]
    promoted = [i for i in out if i.get("promotionName") == "spooky"]
    assert len(out) == 10 and len(promoted) == 2
    assert all(num(i["itemId"]) % 4 == 2 for i in promoted)


def test_personalized_ranking_returns_every_item(runtime: Any, setup: Setup) -> None:
    arn = setup.campaign("rt-pr", setup.version("aws-personalized-ranking"))
    inputs = ["i5", "ghost", "i6", "i7", "i39"]
    out = runtime.get_personalized_ranking(campaignArn=arn, userId="u3", inputList=inputs)
    ranked = out["personalizedRanking"]
    assert sorted(ids(out, "personalizedRanking")) == sorted(inputs)
    assert ranked[-1] == {"itemId": "ghost"}
    assert sum(i.get("score", 0.0) for i in ranked) == pytest.approx(1.0, abs=1e-4)


def test_unknown_user_gets_popular_and_new_items(runtime: Any, up: str) -> None:
    out = ids(runtime.get_recommendations(campaignArn=up, userId="someone-new", numResults=20))
    assert len(out) == 20
    assert {f"i{i}" for i in range(N_WARM, 40)} & set(out)  # exploration of new items


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def test_wrong_arguments(runtime: Any, up: str, sims: str) -> None:
    code, status, message = error_of(runtime.get_recommendations, campaignArn=up)
    assert (code, status) == ("InvalidInputException", 400) and "userId" in message
    code, status, message = error_of(runtime.get_recommendations, campaignArn=sims, userId="u1")
    assert (code, status) == ("InvalidInputException", 400) and "itemId" in message
    code, status, _ = error_of(
        runtime.get_personalized_ranking, campaignArn=up, userId="u1", inputList=["i1"]
    )
    assert (code, status) == ("InvalidInputException", 400)
    code, status, _ = error_of(
        runtime.get_recommendations, campaignArn=up, userId="u1", numResults=501
    )
    assert (code, status) == ("InvalidInputException", 400)
    missing = up.rsplit("/", 1)[0] + "/does-not-exist"
    code, status, message = error_of(runtime.get_recommendations, campaignArn=missing, userId="u1")
    assert (code, status) == ("ResourceNotFoundException", 404) and missing in message
    code, _, _ = error_of(runtime.get_action_recommendations, campaignArn=up, userId="u1")
    assert code == "InvalidInputException"


def test_update_campaign_keeps_serving(
    runtime: Any, personalize: Any, setup: Setup, up: str
) -> None:
    new_version = setup.version("aws-user-personalization-v2")
    failures: list[Exception] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                runtime.get_recommendations(campaignArn=up, userId="u5", numResults=5)
            except Exception as exc:  # any failure fails the test
                failures.append(exc)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        personalize.update_campaign(campaignArn=up, solutionVersionArn=new_version)
        deadline = time.time() + 30
        while time.time() < deadline:
            campaign = personalize.describe_campaign(campaignArn=up)["campaign"]
            if campaign["latestCampaignUpdate"]["status"] in ("ACTIVE", "CREATE FAILED"):
                break
            time.sleep(0.1)
        assert campaign["latestCampaignUpdate"]["status"] == "ACTIVE"
        assert campaign["solutionVersionArn"] == new_version
        time.sleep(1.5)  # the serving cache notices within its TTL
    finally:
        stop.set()
        thread.join()
    assert not failures
