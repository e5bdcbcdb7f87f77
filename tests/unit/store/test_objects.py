"""One suite for every object-store backend (local directory and S3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from openpersonalize.errors import InvalidInputException
from openpersonalize.store.objects import (
    LocalObjectStore,
    LocationError,
    ObjectExistsError,
    ObjectStoreSettings,
    S3ObjectStore,
    clear_s3_clients,
    open_location,
)

from .conftest import BUCKET

Backend = tuple[str, ObjectStoreSettings]


def test_write_read_exists(backend: Backend) -> None:
    store = open_location(*backend)
    assert not store.exists("a.csv")
    store.write_bytes("a.csv", b"USER_ID\nu1\n")
    assert store.exists("a.csv")
    with store.open_read("a.csv") as stream:
        assert stream.read() == b"USER_ID\nu1\n"
    store.write_bytes("a.csv", b"replaced")
    assert store.read_bytes("a.csv") == b"replaced"


def test_prefix_listing_with_folders_is_recursive_and_sorted(backend: Backend) -> None:
    store = open_location(*backend)
    for key in ["Interactions/b.csv", "Interactions/2024/01/a.csv", "Interactions/a.csv", "x.csv"]:
        store.write_bytes(key, key.encode())
    listed = store.list_objects("Interactions/")
    assert [o.key for o in listed] == [
        "Interactions/2024/01/a.csv",
        "Interactions/a.csv",
        "Interactions/b.csv",
    ]
    # A folder named without the trailing slash is the same folder; the sibling "x.csv" is not in.
    assert [o.key for o in store.list_objects("Interactions")] == [o.key for o in listed]
    assert [o.size for o in listed] == [len(o.key) for o in listed]
    # The location URL itself may name the folder, as a dataLocation does.
    folder = open_location(store.url_for("Interactions/"), backend[1])
    assert [o.key for o in folder.list_objects()] == ["2024/01/a.csv", "a.csv", "b.csv"]
    for obj in folder.list_objects():
        assert open_location(obj.url, backend[1]).read_bytes() == f"Interactions/{obj.key}".encode()


def test_a_location_naming_one_object_lists_that_object(backend: Backend) -> None:
    store = open_location(*backend)
    store.write_bytes("data/items.csv", b"ITEM_ID\n")
    store.write_bytes("data/items.csv.bak", b"old")
    single = open_location(store.url_for("data/items.csv"), backend[1])
    [obj] = single.list_objects()
    assert obj.key == ""
    assert single.read_bytes(obj.key) == b"ITEM_ID\n"


def test_missing_object_error_names_the_url(backend: Backend) -> None:
    store = open_location(*backend)
    store.write_bytes("present.csv", b"x")
    with pytest.raises(LocationError) as missing:
        store.open_read("missing.csv")
    assert "missing.csv" in missing.value.message
    assert missing.value.url.endswith("missing.csv")
    assert isinstance(missing.value, InvalidInputException)
    with pytest.raises(LocationError, match=r"No objects found at .*nothing"):
        store.list_objects("nothing/")
    assert store.list_prefix("nothing/") == []


def test_missing_bucket_is_reported_as_such(s3_endpoint: str) -> None:
    settings = ObjectStoreSettings(s3_endpoint_url=s3_endpoint)
    store = open_location("s3://no-such-bucket/Interactions/", settings)
    with pytest.raises(LocationError, match="bucket no-such-bucket does not exist"):
        store.list_objects()
    with pytest.raises(LocationError, match="no-such-bucket"):
        store.open_read("x.csv")


def test_atomic_write_publishes_nothing_on_error(backend: Backend) -> None:
    store = open_location(*backend)
    store.write_bytes("out/result.json.out", b"old")
    with pytest.raises(RuntimeError), store.open_write("out/result.json.out") as stream:
        stream.write(b"half")
        raise RuntimeError("writer died")
    assert store.read_bytes("out/result.json.out") == b"old"
    assert [o.key for o in store.list_prefix("out/")] == ["out/result.json.out"]
    with store.open_write("out/result.json.out") as stream:
        stream.write(b"new")
    assert store.read_bytes("out/result.json.out") == b"new"


def test_create_if_absent(backend: Backend) -> None:
    store = open_location(*backend)
    store.write_bytes("m/000001.json", b"first", if_absent=True)
    with pytest.raises(ObjectExistsError):
        store.write_bytes("m/000001.json", b"second", if_absent=True)
    assert store.read_bytes("m/000001.json") == b"first"


def test_delete_and_delete_prefix(backend: Backend) -> None:
    store = open_location(*backend)
    for key in ["d/1", "d/e/2", "f/3"]:
        store.write_bytes(key, b"x")
    store.delete("f/3")
    store.delete("f/3")  # missing is fine
    assert store.delete_prefix("d/") == 2
    assert store.list_prefix("") == []


def test_schemes(tmp_path: Path) -> None:
    assert isinstance(open_location(f"file://{tmp_path}"), LocalObjectStore)
    assert isinstance(open_location(tmp_path), LocalObjectStore)
    assert open_location(f"file://{tmp_path}").url == str(tmp_path)
    with pytest.raises(LocationError, match="http"):
        open_location("https://example.com/data.csv")
    with pytest.raises(LocationError, match="Unsupported URL scheme"):
        open_location("gs://bucket/x")
    with pytest.raises(LocationError, match="names no bucket"):
        open_location("s3:///key")
    with pytest.raises(InvalidInputException):
        open_location(tmp_path).read_bytes("../escape")


def test_s3_endpoint_from_environment(
    s3_endpoint: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_client.put_object(Bucket=BUCKET, Key="env/ratings.csv", Body=b"abc")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    clear_s3_clients()
    try:
        store = open_location(f"s3://{BUCKET}/env/")
        assert isinstance(store, S3ObjectStore)
        assert store.read_bytes("ratings.csv") == b"abc"
    finally:
        clear_s3_clients()
    assert os.environ["AWS_ENDPOINT_URL_S3"] == s3_endpoint
