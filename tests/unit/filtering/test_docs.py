"""Every ``filter`` code block in docs/filters.md parses, round-trips and validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openpersonalize.filtering import parse, to_text, validate

from .conftest import SCHEMAS

DOC = Path(__file__).resolve().parents[3] / "docs" / "filters.md"
BLOCKS = re.findall(r"```filter\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("text", BLOCKS)
def test_doc_example(text: str) -> None:
    expr = parse(text)
    assert parse(to_text(expr)) == expr
    validate(expr, SCHEMAS)
