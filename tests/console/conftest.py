"""Fixtures of the console tests: an in-process app, and small custom data as CSV files."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pytest
from starlette.testclient import TestClient

from openpersonalize.api.app import create_app
from openpersonalize.controlplane.context import Context, make_context
from openpersonalize.datasets import small
from openpersonalize.settings import load_config

SMALL = {"n_users": 60, "n_items": 50, "n_interactions": 900}
TEST_SETTINGS = {
    "min_import_records": 1,
    "min_interactions": 1,
    "min_users_with_two": 1,
    "delete_grace_seconds": 0.2,
}


def write_custom_csvs(folder: Path) -> dict[str, Path]:
    """The custom preset's interactions and items as CSV files, small enough for seconds."""
    tables = small("custom", seed=3, **SMALL)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("interactions", "items"):
        path = folder / f"{name}.csv"
        pacsv.write_csv(getattr(tables, name), path)
        paths[name] = path
    return paths


def custom_schema(name: str) -> str:
    return small("custom", seed=3, **SMALL).schemas[name]


def make_test_context(data_dir: Path, **settings: Any) -> Context:
    config = load_config({"data_dir": str(data_dir), **TEST_SETTINGS, **settings}, environ={})
    return make_context(config)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = make_test_context(tmp_path / "data")
    yield context
    context.event_log.close()


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), follow_redirects=True) as test_client:
        yield test_client


def alert_text(html: str) -> str:
    """The text of the page's error alerts (tags stripped), for asserting on messages."""
    found = re.findall(r'role="alert">(.*?)</div>', html, flags=re.S)
    return html_module.unescape(" ".join(re.sub(r"<[^>]+>", "", f) for f in found))
