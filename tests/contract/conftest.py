from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.server import RunningServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("server") / "data").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def personalize(server: RunningServer) -> Any:
    return server.client("personalize")


@pytest.fixture(scope="module")
def runtime(server: RunningServer) -> Any:
    return server.client("personalize-runtime")


@pytest.fixture(scope="module")
def events(server: RunningServer) -> Any:
    return server.client("personalize-events")


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A resource-name prefix unique to the test."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
    return name[-40:].strip("-") or "t"


INTERACTIONS_SCHEMA = """{
  "type": "record", "name": "Interactions",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
    {"name": "USER_ID", "type": "string"},
    {"name": "ITEM_ID", "type": "string"},
    {"name": "TIMESTAMP", "type": "long"},
    {"name": "EVENT_TYPE", "type": "string"}
  ],
  "version": "1.0"
}"""

ITEMS_SCHEMA = """{
  "type": "record", "name": "Items",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
    {"name": "ITEM_ID", "type": "string"},
    {"name": "GENRE", "type": ["null", "string"], "categorical": true},
    {"name": "YEAR", "type": ["null", "int"]}
  ],
  "version": "1.0"
}"""


def data_dir(server: RunningServer) -> Path:
    return server.data_dir
