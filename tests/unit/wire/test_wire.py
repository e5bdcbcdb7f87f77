"""The wire layer: validation from the botocore model, serialisation, page tokens, ARNs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openpersonalize.arns import ArnFactory, parse_arn
from openpersonalize.errors import InvalidInputException, InvalidNextTokenException
from openpersonalize.wire import models
from openpersonalize.wire.paging import decode_token, encode_token, page
from openpersonalize.wire.serialize import serialize
from openpersonalize.wire.validate import validate


def shape(op: str, service: str = models.CONTROL_PLANE):  # type: ignore[no-untyped-def]
    return models.operation(service, op).input_shape


def test_required_members() -> None:
    with pytest.raises(
        InvalidInputException,
        match="at 'name' failed to satisfy constraint: Member must not be null",
    ):
        validate(shape("CreateDatasetGroup"), {})


def test_nested_paths_are_named() -> None:
    with pytest.raises(InvalidInputException) as info:
        validate(
            shape("CreateDatasetGroup"),
            {"name": "ok", "tags": [{"tagKey": "a", "tagValue": "b"}, {"tagValue": "x"}]},
        )
    assert "'tags.2.tagKey'" in info.value.message


def test_numbers_and_types() -> None:
    with pytest.raises(InvalidInputException, match="greater than or equal to 1"):
        validate(shape("ListSchemas"), {"maxResults": 0})
    with pytest.raises(InvalidInputException, match="Member must be an integer"):
        validate(shape("ListSchemas"), {"maxResults": True})
    validate(shape("ListSchemas"), {"maxResults": 100})


def test_tag_pattern_with_java_classes() -> None:
    validate(
        shape("CreateDatasetGroup"),
        {"name": "ok", "tags": [{"tagKey": "Équipe é", "tagValue": "x"}]},
    )
    with pytest.raises(InvalidInputException, match="regular expression"):
        validate(
            shape("CreateDatasetGroup"),
            {"name": "ok", "tags": [{"tagKey": "bad#", "tagValue": ""}]},
        )


def test_serialize_drops_unknown_and_none() -> None:
    out_shape = models.operation(models.CONTROL_PLANE, "DescribeDatasetGroup").output_shape
    body = serialize(
        out_shape,
        {"datasetGroup": {"name": "g", "domain": None, "secret": 1, "creationDateTime": 5}},
    )
    assert body == {"datasetGroup": {"name": "g", "creationDateTime": 5.0}}


@given(st.integers(min_value=0, max_value=10**6), st.text(max_size=30))
def test_page_tokens_round_trip(offset: int, scope: str) -> None:
    assert decode_token(encode_token(offset, scope), scope) == offset


def test_page_tokens_are_scoped() -> None:
    token = encode_token(3, "a")
    with pytest.raises(InvalidNextTokenException):
        decode_token(token, "b")


def test_page_walks_everything() -> None:
    items = list(range(23))
    seen, token = [], None
    while True:
        chunk, token = page(items, token, 5, "s", 100)
        seen += chunk
        if token is None:
            break
    assert seen == items


@given(st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}", fullmatch=True))
def test_arns_parse_back(name: str) -> None:
    arns = ArnFactory()
    parsed = parse_arn(arns.make("solution", name))
    assert parsed is not None and parsed.path == (name,) and parsed.kind == "solution"
    version = parse_arn(arns.solution_version(name, "1234abcd"))
    assert version is not None and version.kind == "solution-version"
    assert arns.dataset(name, "Interactions").endswith(f"dataset/{name}/INTERACTIONS")
