"""The environment of the worker processes that ``openpersonalize serve`` starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from openpersonalize.server import THREAD_ENV, worker_environment, worker_threads
from openpersonalize.settings import load_config


def test_worker_threads_share_the_cores() -> None:
    assert worker_threads(1, cpus=8) == 8
    assert worker_threads(2, cpus=8) == 4
    assert worker_threads(3, cpus=8) == 2
    assert worker_threads(2, cpus=2) == 1
    assert worker_threads(4, cpus=2) == 1
    assert worker_threads(0, cpus=2) == 2
    assert worker_threads(2) >= 1


def test_several_workers_get_their_share_of_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    one = worker_environment(load_config({"data_dir": str(tmp_path), "workers": 1}, environ={}))
    assert not set(THREAD_ENV) & set(one)  # one worker keeps every core
    two = worker_environment(load_config({"data_dir": str(tmp_path), "workers": 2}, environ={}))
    assert {two[name] for name in THREAD_ENV} == {str(worker_threads(2))}
    assert two["OPENPERSONALIZE_WORKERS"] == "2"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the operator's choice wins
    again = worker_environment(load_config({"data_dir": str(tmp_path), "workers": 2}, environ={}))
    assert again["OMP_NUM_THREADS"] == "3"
