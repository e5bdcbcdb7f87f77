"""Property: a valid table written as CSV (quotes, commas, pipes, unicode) reads back the same."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpersonalize.data.csv_import import import_csv
from openpersonalize.data.schemas import AvroSchema, SchemaField

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
    | st.sampled_from(list("\",|\\\n\r' \t;éß漢字🙂")),
    min_size=1,
    max_size=12,
)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": TEXT,
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "double": st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
}


def cell(value: Any, type_: str, quote_all: bool) -> str:
    if value is None:
        return ""
    if type_ == "boolean":
        return "true" if value else "false"
    if type_ == "string":
        assert isinstance(value, str)
        escaped = value.replace("\\", "\\\\")
        if quote_all or any(c in value for c in '",\\\n\r') or value != value.strip():
            return '"' + escaped.replace('"', '""') + '"'
        return escaped
    return repr(value) if isinstance(value, float) else str(value)


@st.composite
def tables(draw: st.DrawFn) -> tuple[AvroSchema, list[dict[str, Any]], str]:
    n_fields = draw(st.integers(1, 5))
    fields = tuple(
        SchemaField(
            name=f"F{i}",
            type=draw(st.sampled_from(sorted(VALUES))),
            nullable=draw(st.booleans()),
            categorical=False,
        )
        for i in range(n_fields)
    )
    fields = tuple(
        SchemaField(f.name, f.type, f.nullable, categorical=f.type == "string" and i % 2 == 0)
        for i, f in enumerate(fields)
    )
    schema = AvroSchema(name="Items", fields=fields)
    rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    f.name: (st.none() | VALUES[f.type]) if f.nullable else VALUES[f.type]
                    for f in fields
                }
            ),
            max_size=15,
        )
    )
    order = draw(st.permutations(list(fields)))
    # A pandas-style unnamed index column first. A one-column file needs it: its null row would
    # be a blank line, and blank lines are skipped.
    extra = n_fields == 1 or draw(st.booleans())
    quote_all = draw(st.booleans())
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    header = ([""] if extra else []) + [f.name for f in order]
    lines = [",".join(header)]
    for index, row in enumerate(rows):
        cells = ([str(index)] if extra else []) + [
            cell(row[f.name], f.type, quote_all) for f in order
        ]
        lines.append(",".join(cells))
    return schema, rows, line_end.join(lines) + line_end


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_written_tables_read_back_identically(
    case: tuple[AvroSchema, list[dict[str, Any]], str],
) -> None:
    schema, rows, text = case
    table = import_csv(text.encode("utf-8"), schema, file_name="random.csv")
    assert table.schema == schema.to_arrow_schema()
    assert table.to_pylist() == rows


def test_blank_lines_are_skipped() -> None:
    schema = AvroSchema(name="Items", fields=(SchemaField("N", "int", nullable=True),))
    assert import_csv(b"N\n\n1\n\r\n2\n\n", schema).column("N").to_pylist() == [1, 2]


@pytest.mark.parametrize("value", ['a"b', "a\\b", "x,y|z", "line\nbreak", " padded ", "漢字🙂"])
def test_awkward_strings(value: str) -> None:
    schema = AvroSchema(name="Items", fields=(SchemaField("ITEM_ID", "string"),))
    text = "ITEM_ID\n" + cell(value, "string", quote_all=False) + "\n"
    assert import_csv(text.encode(), schema).column("ITEM_ID").to_pylist() == [value]
