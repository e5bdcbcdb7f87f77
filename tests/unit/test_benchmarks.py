"""`make bench` runs every benchmark module through ``python -m benchmarks``: each one's
``main`` takes the remaining arguments and returns an exit status."""

from __future__ import annotations

import importlib
import inspect

import pytest
from benchmarks.__main__ import _modules


@pytest.mark.parametrize("name", _modules())
def test_every_benchmark_main_takes_argv_and_returns_a_status(name: str) -> None:
    main = importlib.import_module(f"benchmarks.{name}").main
    params = list(inspect.signature(main).parameters.values())
    assert len(params) == 1, f"benchmarks.{name}.main must take (argv)"
    assert inspect.signature(main).return_annotation in ("int", int), name
