"""The orjson-backed JSON of the hot paths: as lenient as ``json`` when writing numbers, strict
(real JSON only) when reading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openpersonalize.wire import jsonbytes


def test_writes_what_json_writes() -> None:
    class Score(float):
        pass

    value = {"a": np.float64(0.5), "b": np.int64(3), "c": Score(1.5), "d": ["é", None, True]}
    assert json.loads(jsonbytes.dumps(value)) == {
        "a": 0.5,
        "b": 3,
        "c": 1.5,
        "d": ["é", None, True],
    }
    assert jsonbytes.dumps({"k": "é"}) == '{"k":"é"}'.encode()  # compact UTF-8


def test_reads_strict_json() -> None:
    assert jsonbytes.loads(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for text in (b'{"a": NaN}', b"{", b"\xff"):
        with pytest.raises(jsonbytes.JSONDecodeError):
            jsonbytes.loads(text)
    assert issubclass(jsonbytes.JSONDecodeError, json.JSONDecodeError)
