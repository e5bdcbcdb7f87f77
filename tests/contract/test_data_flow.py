"""Data in and out through real clients: imports (local folder, S3), exports, Put* calls, bad
input with clear failure reasons, and data deletion."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.contract.data_flow import (
    INTERACTIONS,
    ITEMS,
    USERS,
    create_group,
    local_export,
    record_count,
    run_export,
    run_import,
    s3_export,
    s3_fixture,
    s3_server_fixture,
)
from tests.contract.server import RunningServer, wait_for
from tests.schemas import BASIC_INTERACTIONS

BUCKET = "data-flow"


s3 = s3_fixture(BUCKET)
server = s3_server_fixture()


def interactions_csv(n: int, *, start_user: int = 0) -> str:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,DEVICE"]
    for i in range(n):
        user = start_user + i % 7
        lines.append(f"u{user},i{i % 11},{1_700_000_000 + i},click,{i % 5}.5,phone|tablet")
    return "\n".join(lines) + "\n"


def test_local_folder_import_and_export(
    personalize: Any, server: RunningServer, tmp_path: Path, unique: str
) -> None:
    _, datasets = create_group(personalize, unique, {"Interactions": INTERACTIONS, "Items": ITEMS})
    folder = tmp_path / "in" / "interactions"
    (folder / "sub").mkdir(parents=True)
    (folder / "part-1.csv").write_text(interactions_csv(40))
    # pandas writes an unnamed index column first; columns in another order; gzip in a sub-folder
    (folder / "sub" / "part-2.csv.gz").write_bytes(
        gzip.compress(
            b",EVENT_TYPE,TIMESTAMP,ITEM_ID,USER_ID,DEVICE,EVENT_VALUE\n"
            + b"".join(f"{i},view,{1_700_001_000.0 + i},i{i},u{i},,\n".encode() for i in range(25))
        )
    )
    job = run_import(personalize, datasets["Interactions"], str(folder), f"{unique}-imp")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    assert record_count(server.data_dir, datasets["Interactions"]) == 65

    out = tmp_path / "out"
    export = run_export(personalize, datasets["Interactions"], str(out), f"{unique}-exp", "BULK")
    assert export["status"] == "ACTIVE", export.get("failureReason")
    header, rows = local_export(out, f"{unique}-exp")
    assert header == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "DEVICE"]
    assert len(rows) == 65
    assert {"USER_ID": "u3", "ITEM_ID": "i3", "TIMESTAMP": "1700000003", "EVENT_TYPE": "click",
            "EVENT_VALUE": "3.5", "DEVICE": "phone|tablet"} in rows  # fmt: skip

    # Items: FULL then INCREMENTAL upserts by id.
    items = tmp_path / "items.csv"
    items.write_text(
        "ITEM_ID,GENRE,NUMBER_OF_RATINGS\n" + "".join(f"i{i},g{i},{i}\n" for i in range(10))
    )
    assert (
        run_import(personalize, datasets["Items"], str(items), f"{unique}-i1")["status"] == "ACTIVE"
    )
    items.write_text("ITEM_ID,GENRE,NUMBER_OF_RATINGS\ni3,new,33\ni99,x,\n")
    job = run_import(
        personalize, datasets["Items"], f"file://{items}", f"{unique}-i2", "INCREMENTAL"
    )
    assert job["status"] == "ACTIVE", job.get("failureReason")
    run_export(personalize, datasets["Items"], str(out), f"{unique}-items", "ALL")
    _, rows = local_export(out, f"{unique}-items")
    assert len(rows) == 11
    assert {"ITEM_ID": "i3", "GENRE": "new", "NUMBER_OF_RATINGS": "33"} in rows
    assert {"ITEM_ID": "i99", "GENRE": "x", "NUMBER_OF_RATINGS": ""} in rows


def test_s3_import_and_export(personalize: Any, s3: tuple[str, Any], unique: str) -> None:
    client = s3[1]
    _, datasets = create_group(personalize, unique, {"Interactions": INTERACTIONS})
    client.put_object(Bucket=BUCKET, Key=f"{unique}/in/a.csv", Body=interactions_csv(30).encode())
    client.put_object(
        Bucket=BUCKET,
        Key=f"{unique}/in/deeper/b.csv.gz",
        Body=gzip.compress(interactions_csv(12).encode()),
    )
    client.put_object(Bucket=BUCKET, Key=f"{unique}/in/", Body=b"")  # a console folder marker
    location = f"s3://{BUCKET}/{unique}/in/"
    job = run_import(personalize, datasets["Interactions"], location, f"{unique}-imp")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    export = run_export(
        personalize,
        datasets["Interactions"],
        f"s3://{BUCKET}/{unique}/out/",
        f"{unique}-exp",
        "BULK",
    )
    assert export["status"] == "ACTIVE", export.get("failureReason")
    # 42 rows, but the second file repeats 12 rows of the first exactly: exported once.
    header, rows = s3_export(client, BUCKET, f"{unique}/out/{unique}-exp/")
    assert header[0] == "USER_ID" and len(rows) == 30


BAD_INPUTS: list[tuple[str, bytes, list[str]]] = [
    ("missing-column", b"USER_ID,ITEM_ID,EVENT_TYPE\nu1,i1,click\n", ["missing", "TIMESTAMP"]),
    (
        "wrong-type-row-5000",
        (
            "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"
            + "".join(
                f"u{i},i{i},{'soon' if i == 4999 else 1_700_000_000 + i},click\n"
                for i in range(6000)
            )
        ).encode(),
        ["row 5000", "TIMESTAMP", "soon"],
    ),
    ("empty-file", b"", ["empty"]),
    (
        "non-utf8",
        b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu\xff\xfe1,i1,1700000000,click\n",
        ["UTF-8"],
    ),
    (
        "unterminated-quote",
        b'USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu1,"i1,1700000000,click\nu2,i2,1700000000,click\n',
        ["quote"],
    ),
    (
        "duplicated-header",
        b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,ITEM_ID\nu1,i1,1700000000,click,i1\n",
        ["duplicated", "ITEM_ID"],
    ),
    (
        "id-too-long",
        b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" + b"u" * 300 + b",i1,1700000000,click\n",
        ["USER_ID", "256"],
    ),
    (
        "timestamp-ms",
        b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu1,i1,1700000000000,click\n",
        ["milliseconds"],
    ),
]


@pytest.fixture(scope="module")
def loaded(personalize: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Interactions dataset holding 20 good records, for the bad-input cases."""
    _, datasets = create_group(personalize, "bad-input", {"Interactions": BASIC_INTERACTIONS})
    good = tmp_path_factory.mktemp("good") / "good.csv"
    good.write_text(interactions_csv(20))  # extra columns are ignored
    job = run_import(personalize, datasets["Interactions"], str(good), "bad-input-good")
    assert job["status"] == "ACTIVE"
    return datasets


@pytest.mark.parametrize(
    ("case", "content", "expected"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_fails_clearly_and_keeps_old_data(
    personalize: Any,
    server: RunningServer,
    loaded: dict[str, str],
    tmp_path: Path,
    case: str,
    content: bytes,
    expected: list[str],
) -> None:
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    job = run_import(personalize, loaded["Interactions"], str(path), f"bad-{case}")
    assert job["status"] == "CREATE FAILED"
    reason = job["failureReason"]
    assert f"{case}.csv" in reason
    for word in expected:
        assert word.lower() in reason.lower(), reason
    assert record_count(server.data_dir, loaded["Interactions"]) == 20


def test_missing_s3_object_fails_clearly(
    personalize: Any, server: RunningServer, loaded: dict[str, str]
) -> None:
    job = run_import(
        personalize, loaded["Interactions"], f"s3://{BUCKET}/nowhere/x.csv", "bad-missing-s3"
    )
    assert job["status"] == "CREATE FAILED"
    assert f"s3://{BUCKET}/nowhere/x.csv" in job["failureReason"]
    assert record_count(server.data_dir, loaded["Interactions"]) == 20


@pytest.fixture(scope="module")
def tracked(personalize: Any) -> dict[str, str]:
    _, datasets = create_group(
        personalize, "events", {"Interactions": INTERACTIONS, "Items": ITEMS, "Users": USERS}
    )
    group = personalize.describe_dataset(datasetArn=datasets["Interactions"])["dataset"][
        "datasetGroupArn"
    ]
    tracker = personalize.create_event_tracker(name="events-tracker", datasetGroupArn=group)
    return {**datasets, "trackingId": tracker["trackingId"], "group": group}


def event(**kwargs: Any) -> dict[str, Any]:
    return {"eventType": "click", "sentAt": 1_700_000_000, **kwargs}


@pytest.mark.parametrize(
    ("bad_event", "words"),
    [
        (
            event(itemId="i1", properties="{not json"),
            ["Error parsing properties json", "eventList[1]"],
        ),
        (event(itemId="i1", properties='{"colour": "red"}'), ["colour", "device", "eventValue"]),
        (event(itemId="i1", properties='{"device": {"a": 1}}'), ["device", "string"]),
        (event(itemId="i1", properties='{"userId": "u9"}'), ["userId"]),
        (event(), ["ITEM_ID"]),
    ],
)
def test_put_events_rejects_bad_events(
    events: Any, tracked: dict[str, str], bad_event: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ClientError) as caught:
        events.put_events(
            trackingId=tracked["trackingId"],
            userId="u1",
            sessionId="s1",
            eventList=[event(itemId="i1"), bad_event],
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    for word in words:
        assert word in error["Message"], error["Message"]


def test_put_events_rejects_milliseconds(server: RunningServer, tracked: dict[str, str]) -> None:
    # boto3 itself refuses such a timestamp, so send the request as other SDKs would.
    body = {
        "trackingId": tracked["trackingId"],
        "sessionId": "s1",
        "eventList": [event(itemId="i1", sentAt=1_700_000_000_000)],
    }
    answer = httpx.post(server.url + "/events", json=body)
    assert answer.status_code == 400
    assert answer.json()["__type"] == "InvalidInputException"
    assert "milliseconds" in answer.json()["message"]
    body["eventList"] = [event(itemId="i1", sentAt="1700000000.5")]
    assert httpx.post(server.url + "/events", json=body).status_code == 200


def test_put_events_unknown_tracking_id(events: Any) -> None:
    with pytest.raises(ClientError) as caught:
        events.put_events(trackingId="nope", sessionId="s", eventList=[event(itemId="i1")])
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    assert "Unknown trackingId 'nope'" in caught.value.response["Error"]["Message"]


def test_put_calls_are_exported(
    personalize: Any, events: Any, tracked: dict[str, str], tmp_path: Path
) -> None:
    events.put_events(
        trackingId=tracked["trackingId"],
        userId="alice",
        sessionId="s-alice",
        eventList=[
            event(
                itemId="i1",
                eventValue=2.5,
                properties=json.dumps({"device": "phone"}),
                eventId="e1",
            ),
            event(sentAt="1700000001", properties='{"itemId": "i2", "eventValue": 1}'),
            event(itemId="i1", eventId="e1"),  # a later duplicate of e1: dropped
        ],
    )
    # Anonymous, then the same session logs in: both resolve to bob.
    events.put_events(
        trackingId=tracked["trackingId"],
        sessionId="s-bob",
        eventList=[event(itemId="i3", sentAt=1_700_000_002.7)],
    )
    events.put_events(
        trackingId=tracked["trackingId"],
        userId="bob",
        sessionId="s-bob",
        eventList=[event(itemId="i4")],
    )
    events.put_items(
        datasetArn=tracked["Items"],
        items=[
            {"itemId": "i1", "properties": '{"genre": "a|b", "numberOfRatings": 3}'},
            {"itemId": "i2", "properties": json.dumps({"genre": ["c", "d"]})},
        ],
    )
    events.put_items(
        datasetArn=tracked["Items"],
        items=[{"itemId": "i1", "properties": '{"numberOfRatings": "4"}'}],
    )
    events.put_users(
        datasetArn=tracked["Users"], users=[{"userId": "alice", "properties": '{"age": 33}'}]
    )

    with pytest.raises(ClientError) as caught:
        events.put_users(datasetArn=tracked["Items"], users=[{"userId": "x"}])
    assert "Items dataset" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        events.put_items(datasetArn=tracked["Items"] + "-nope", items=[{"itemId": "x"}])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"

    out = tmp_path / "out"
    run_export(personalize, tracked["Interactions"], str(out), "events-put", "PUT")
    _, rows = local_export(out, "events-put")
    # Rejected batches stored nothing; one other test sends an anonymous event as "s1" (it may
    # have run on another xdist worker, against another server).
    assert {r["USER_ID"] for r in rows} - {"s1"} == {"alice", "bob"}
    assert sorted(
        (r["USER_ID"], r["ITEM_ID"], r["TIMESTAMP"], r["EVENT_VALUE"], r["DEVICE"])
        for r in rows
        if r["USER_ID"] != "s1"
    ) == [
        ("alice", "i1", "1700000000", "2.5", "phone"),
        ("alice", "i2", "1700000001", "1", ""),
        ("bob", "i3", "1700000002", "", ""),
        ("bob", "i4", "1700000000", "", ""),
    ]
    run_export(personalize, tracked["Items"], str(out), "events-items", "ALL")
    _, rows = local_export(out, "events-items")
    assert sorted(rows, key=lambda r: r["ITEM_ID"]) == [
        {"ITEM_ID": "i1", "GENRE": "", "NUMBER_OF_RATINGS": "4"},
        {"ITEM_ID": "i2", "GENRE": "c|d", "NUMBER_OF_RATINGS": ""},
    ]
    run_export(personalize, tracked["Items"], str(out), "events-items-put", "PUT")
    assert len(local_export(out, "events-items-put")[1]) == 3


def test_data_deletion_removes_users(
    personalize: Any, events: Any, server: RunningServer, tmp_path: Path, unique: str
) -> None:
    group, datasets = create_group(
        personalize, unique, {"Interactions": INTERACTIONS, "Users": USERS}
    )
    bulk = tmp_path / "bulk.csv"
    bulk.write_text(interactions_csv(70))  # users u0..u6, 10 records each
    assert (
        run_import(personalize, datasets["Interactions"], str(bulk), f"{unique}-b")["status"]
        == "ACTIVE"
    )
    users = tmp_path / "users.csv"
    users.write_text("USER_ID,AGE\n" + "".join(f"u{i},{20 + i}\n" for i in range(7)))
    assert (
        run_import(personalize, datasets["Users"], str(users), f"{unique}-u")["status"] == "ACTIVE"
    )
    tracking = personalize.create_event_tracker(name=f"{unique}-t", datasetGroupArn=group)[
        "trackingId"
    ]
    events.put_events(
        trackingId=tracking, userId="u1", sessionId="s", eventList=[event(itemId="x")]
    )
    events.put_events(
        trackingId=tracking, userId="u5", sessionId="s5", eventList=[event(itemId="y")]
    )

    doomed = tmp_path / "doomed"
    doomed.mkdir()
    (doomed / "a.csv").write_text("USER_ID\nu1\nu2\n")
    arn = personalize.create_data_deletion_job(
        jobName=unique, datasetGroupArn=group, dataSource={"dataLocation": str(doomed)},
        roleArn="arn:aws:iam::123456789012:role/x",
    )["dataDeletionJobArn"]  # fmt: skip
    job = wait_for(
        personalize.describe_data_deletion_job, "dataDeletionJob", dataDeletionJobArn=arn
    )
    assert job["status"] == "COMPLETED", job.get("failureReason")
    assert job["numDeleted"] == 10 + 10 + 1 + 2  # bulk u1, u2; u1's event; two Users rows

    out = tmp_path / "out"
    run_export(personalize, datasets["Interactions"], str(out), f"{unique}-e", "ALL")
    remaining = {r["USER_ID"] for r in local_export(out, f"{unique}-e")[1]}
    assert remaining == {"u0", "u3", "u4", "u5", "u6"}
    assert record_count(server.data_dir, datasets["Users"]) == 5


def test_import_progress_is_recorded(
    personalize: Any, server: RunningServer, tmp_path: Path, unique: str
) -> None:
    from openpersonalize.store.metadata import MetadataStore

    _, datasets = create_group(personalize, unique, {"Interactions": INTERACTIONS})
    path = tmp_path / "x.csv"
    path.write_text(interactions_csv(10))
    started = time.time()
    job = run_import(personalize, datasets["Interactions"], str(path), unique)
    assert job["status"] == "ACTIVE"
    assert job["lastUpdatedDateTime"].timestamp() >= started - 1
    # The progress is not in the botocore model (Describe drops it): read it where the job
    # wrote it, as the console does.
    store = MetadataStore(server.data_dir / "metadata.sqlite3")
    try:
        body = store.get(job["datasetImportJobArn"]).body
    finally:
        store.close()
    assert (body["percentComplete"], body["importedRecords"]) == (100.0, 10)
