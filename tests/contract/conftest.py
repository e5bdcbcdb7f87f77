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


def data_dir(server: RunningServer) -> Path:
    return server.data_dir
