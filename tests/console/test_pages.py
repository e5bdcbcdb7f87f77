"""Every console page renders (empty and populated), and bad input shows the AWS error, not a 500.

In-process: the Starlette app with a TestClient, the console calling the API handlers directly.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from openpersonalize.api.app import REST_OPERATIONS, create_app
from openpersonalize.controlplane.context import Context
from openpersonalize.jobs import load_job_modules, worker
from tests.console.conftest import alert_text, custom_schema, make_test_context, write_custom_csvs
from tests.schemas import avro

GROUP = "shop"
G = f"/console/dataset-groups/{GROUP}"


def create_group(client: TestClient, name: str = GROUP, domain: str = "") -> None:
    page = client.post("/console/dataset-groups/create", data={"name": name, "domain": domain})
    assert page.status_code == 200, alert_text(page.text)
    assert "Dataset group created." in page.text


def create_dataset(client: TestClient, dataset_type: str, schema: str, name: str = "") -> None:
    page = client.post(
        f"{G}/datasets/create",
        data={
            "datasetType": dataset_type,
            "name": name or f"{GROUP}-{dataset_type.lower()}",
            "schemaSource": "new",
            "schemaName": f"{GROUP}-{dataset_type.lower()}-schema",
            "schema": schema,
        },
    )
    assert page.status_code == 200, alert_text(page.text)
    assert f"{dataset_type} dataset created." in page.text


def populate(client: TestClient, ctx: Context, tmp_path: Path) -> None:
    """A custom group with interactions + items imported, a filter, a solution, a tracker."""
    create_group(client)
    create_dataset(client, "Interactions", custom_schema("interactions"))
    create_dataset(client, "Items", custom_schema("items"))
    paths = write_custom_csvs(tmp_path / "csv")
    for kind, dataset in (("interactions", "INTERACTIONS"), ("items", "ITEMS")):
        arn = ctx.arns.dataset(GROUP, dataset)
        page = client.post(
            f"{G}/import-jobs/create",
            data={
                "datasetArn": arn,
                "jobName": f"import-{kind}",
                "dataLocation": str(paths[kind]),
                "importMode": "FULL",
            },
        )
        assert "Import job created." in page.text, alert_text(page.text)
    load_job_modules()
    while worker.run_one(ctx, "console-test"):
        pass
    page = client.post(
        f"{G}/filters/create",
        data={
            "name": "no-watched",
            "filterExpression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")',
        },
    )
    assert "Filter created." in page.text, alert_text(page.text)
    page = client.post(
        f"{G}/solutions/create",
        data={
            "name": "shop-up",
            "recipe": "aws-user-personalization",
            "hyperparameters": "",
            "hpoConfig": "",
        },
    )
    assert "Solution created." in page.text, alert_text(page.text)
    page = client.post(f"{G}/event-trackers/create", data={"name": "shop-tracker"})
    assert "Event tracker created." in page.text, alert_text(page.text)


def console_pages(ctx: Context) -> list[str]:
    pages = [
        "/console/",
        "/console/dataset-groups",
        "/console/dataset-groups/create",
        G,
        f"{G}/insights",
        f"{G}/tester",
        f"{G}/events",
        f"{G}/datasets/create?type=Users",
        f"{G}/import-jobs/create",
        f"{G}/solutions/create",
        f"{G}/campaigns/create",
        f"{G}/recommenders/create",
        f"{G}/filters/create",
        f"{G}/event-trackers/create",
        f"{G}/batch-inference-jobs/create",
        f"{G}/batch-segment-jobs/create",
        f"/console/resource?arn={quote(ctx.arns.make('dataset-group', GROUP))}",
        f"/console/delete?arn={quote(ctx.arns.make('dataset-group', GROUP))}",
    ]
    return pages


def test_pages_render_without_any_resources(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200
    assert "No dataset groups yet" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.get("/console/static/console.css").status_code == 200
    assert client.get("/console/static/console.js").status_code == 200


def test_pages_render_for_an_empty_group(client: TestClient, ctx: Context) -> None:
    create_group(client)
    for path in console_pages(ctx):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:2000])
    assert "no data yet" in client.get(f"{G}/insights").text


def test_pages_render_for_a_populated_group(
    client: TestClient, ctx: Context, tmp_path: Path
) -> None:
    populate(client, ctx, tmp_path)
    overview = client.get(G).text
    for text in ("import-interactions", "no-watched", "shop-up", "shop-tracker", "Interactions"):
        assert text in overview
    for path in [*console_pages(ctx), f"{G}/solutions/shop-up"]:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:2000])
    assert "CREATE FAILED" not in client.get(G).text
    # The imports ran (populate runs the worker): the charts have data.
    insights = client.get(f"{G}/insights").text
    assert "Interactions per day" in insights
    assert "<rect" in insights and "Event-type mix" in insights
    assert "click" in insights
    status = client.get(f"/console/api/status?group={GROUP}").json()
    assert status["group"] == GROUP
    interactions_job = ctx.arns.make("dataset-import-job", "import-interactions")
    assert status["resources"][interactions_job]["status"] == "ACTIVE"
    events = client.get(f"/console/api/events?group={GROUP}").json()
    assert events["events"] == [] and events["total"] == 0


def test_unknown_group_is_a_404_page(client: TestClient) -> None:
    page = client.get("/console/dataset-groups/nope")
    assert page.status_code == 404
    assert "ResourceNotFoundException" in page.text
    assert client.get("/console/api/status?group=nope").status_code == 404


@pytest.mark.parametrize(
    ("form", "code", "message"),
    [
        ({"name": "bad name!", "domain": ""}, "InvalidInputException", "failed to satisfy"),
        ({"name": "x", "domain": "GROCERY"}, "InvalidInputException", "domain"),
    ],
)
def test_bad_dataset_group_input_shows_the_aws_error(
    client: TestClient, form: dict[str, str], code: str, message: str
) -> None:
    page = client.post("/console/dataset-groups/create", data=form)
    assert page.status_code == 400
    text = alert_text(page.text)
    assert code in text and message in text
    assert re.search(rf'id="name"[^>]*value="{re.escape(form["name"])}"', page.text), (
        "the form keeps the input"
    )


def test_duplicate_group_shows_already_exists(client: TestClient) -> None:
    create_group(client)
    page = client.post("/console/dataset-groups/create", data={"name": GROUP, "domain": ""})
    assert page.status_code == 400
    assert "ResourceAlreadyExistsException" in alert_text(page.text)


def test_bad_schema_is_shown_inline_under_the_editor(client: TestClient) -> None:
    create_group(client)
    bad = avro("Interactions", [("USER_ID", "string")])
    page = client.post(
        f"{G}/datasets/create",
        data={
            "datasetType": "Interactions",
            "name": "i",
            "schemaSource": "new",
            "schemaName": "broken",
            "schema": bad,
        },
    )
    assert page.status_code == 400
    assert 'class="field-error"' in page.text  # beside the textarea
    assert "InvalidInputException" in alert_text(page.text)
    not_json = client.post(
        f"{G}/datasets/create",
        data={
            "datasetType": "Interactions",
            "name": "i",
            "schemaSource": "new",
            "schemaName": "broken",
            "schema": "{not json",
        },
    )
    assert not_json.status_code == 400
    assert "InvalidInputException" in alert_text(not_json.text)


def test_bad_filter_expression_shows_the_parse_error(client: TestClient) -> None:
    create_group(client)
    page = client.post(
        f"{G}/filters/create",
        data={"name": "f", "filterExpression": "EXCLUDE ItemID WHERE Items.GENRE IN"},
    )
    assert page.status_code == 400
    assert 'class="field-error"' in page.text
    assert "InvalidInputException" in alert_text(page.text)


def test_bad_solution_and_import_input(client: TestClient, ctx: Context) -> None:
    create_group(client)
    page = client.post(
        f"{G}/solutions/create",
        data={"name": "s", "recipe": "aws-user-personalization", "hyperparameters": "{oops"},
    )
    assert page.status_code == 400
    assert "not valid JSON" in alert_text(page.text)
    page = client.post(f"{G}/solutions/create", data={"name": "s", "recipe": "aws-no-such-recipe"})
    assert page.status_code == 400
    assert "ResourceNotFoundException" in alert_text(page.text)
    page = client.post(
        f"{G}/import-jobs/create",
        data={
            "datasetArn": ctx.arns.dataset(GROUP, "INTERACTIONS"),
            "jobName": "j",
            "dataLocation": "s3://bucket/x.csv",
            "importMode": "FULL",
        },
    )
    assert page.status_code == 400
    assert "ResourceNotFoundException" in alert_text(page.text)
    page = client.post(
        f"{G}/campaigns/create",
        data={"name": "c", "solutionVersionArn": "arn:aws:personalize:us-east-1:1:solution/x/y"},
    )
    assert page.status_code == 400
    assert "ResourceNotFoundException" in alert_text(page.text)
    page = client.post(
        f"{G}/recommenders/create", data={"name": "r", "recipe": "aws-vod-top-picks"}
    )
    assert page.status_code == 400
    assert "not a domain dataset group" in alert_text(page.text)


def test_delete_needs_confirmation_and_reports_in_use(client: TestClient, ctx: Context) -> None:
    create_group(client)
    client.post(f"{G}/event-trackers/create", data={"name": "t"})
    group_arn = ctx.arns.make("dataset-group", GROUP)
    page = client.post("/console/delete", data={"arn": group_arn, "confirm": "nope"})
    assert page.status_code == 400
    assert 'Type "delete" to confirm.' in alert_text(page.text)
    page = client.post("/console/delete", data={"arn": group_arn, "confirm": "delete"})
    assert page.status_code == 400
    assert "ResourceInUseException" in alert_text(page.text)
    tracker = ctx.store.select("event-tracker")[0].arn
    page = client.post("/console/delete", data={"arn": tracker, "confirm": "delete"})
    assert page.status_code == 200
    assert "Deleting event tracker" in page.text


def test_cross_site_posts_are_refused(client: TestClient) -> None:
    page = client.post(
        "/console/dataset-groups/create",
        data={"name": "evil", "domain": ""},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert page.status_code == 403
    assert "evil" not in client.get("/console/dataset-groups").text


def test_tester_handles_missing_runtime_and_no_targets(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_group(client)
    url = f"{G}/tester?target=arn:aws:personalize:us-east-1:1:campaign/x&userId=u"
    page = client.get(url)
    assert page.status_code == 200
    assert "No ACTIVE campaign or recommender" in page.text
    assert "not available in this server build yet" not in page.text
    # A build without the runtime operations says so instead of failing.
    monkeypatch.delitem(REST_OPERATIONS, ("personalize-runtime", "GetRecommendations"))
    page = client.get(url)
    assert page.status_code == 200
    assert "No ACTIVE campaign or recommender" in page.text
    assert "GetRecommendations) are not available in this server build yet" in page.text


def test_console_asks_for_access_keys_when_configured(tmp_path: Path) -> None:
    ctx = make_test_context(tmp_path / "data", access_keys="AKIDCONSOLE:s3cret,OTHER:x")
    try:
        with TestClient(create_app(ctx), follow_redirects=False) as client:
            page = client.get("/console/dataset-groups")
            assert page.status_code == 303
            assert page.headers["location"].startswith("/console/login?next=")
            assert client.get("/console/api/status?group=x").status_code == 401
            assert client.get("/console/static/console.css").status_code == 200
            wrong = client.post(
                "/console/login",
                data={"accessKeyId": "AKIDCONSOLE", "secretAccessKey": "nope"},
            )
            assert wrong.status_code == 401
            assert "not right" in wrong.text
            right = client.post(
                "/console/login",
                data={
                    "accessKeyId": "AKIDCONSOLE",
                    "secretAccessKey": "s3cret",
                    "next": "https://evil.example/",
                },
            )
            assert right.status_code == 303
            assert right.headers["location"] == "/console/"
            cookie = right.cookies.get("openpersonalize_console")
            assert cookie and cookie.startswith("AKIDCONSOLE.")
            client.cookies.set("openpersonalize_console", cookie)
            assert client.get("/console/dataset-groups").status_code == 200
            key, expires, signature = cookie.rsplit(".", 2)
            forged = f"{key}.{int(expires) + 1000}.{signature}"
            client.cookies.set("openpersonalize_console", forged)
            assert client.get("/console/dataset-groups").status_code == 303
    finally:
        ctx.event_log.close()
