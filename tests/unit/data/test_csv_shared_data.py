"""Import of the reference data sets in ../shared/data, row for row."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pyarrow.compute as pc
import pytest

from openpersonalize.data.csv_import import CsvImportError, import_csv
from openpersonalize.data.schemas import AvroSchema, check_dataset_schema
from tests.schemas import field

from ._schemas import schema

pytestmark = pytest.mark.shared_data


def data_rows(path: Path) -> list[list[str]]:
    """The file's records after the header, read by the standard library as an oracle."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


POC_INTERACTIONS = schema(
    "Interactions",
    [field("USER_ID"), field("ITEM_ID"), field("EVENT_TYPE"), field("TIMESTAMP", "long")],
)


def test_personalize_poc_interactions(shared_data: Path) -> None:
    path = shared_data / "personalize-poc" / "interactions.csv"
    check_dataset_schema(POC_INTERACTIONS, "Interactions", None)
    table = import_csv(path, POC_INTERACTIONS)
    expected = data_rows(path)
    assert table.num_rows == len(expected) == 158_371
    first = expected[0]  # USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE
    assert table.slice(0, 1).to_pylist() == [
        {
            "USER_ID": first[0],
            "ITEM_ID": first[1],
            "EVENT_TYPE": first[3],
            "TIMESTAMP": int(first[2]),
        }
    ]
    assert set(table.column("EVENT_TYPE").unique().to_pylist()) == {"click", "watch"}


def item_meta_schema(year_type: str) -> AvroSchema:
    return schema(
        "Items",
        [
            field("ITEM_ID"),
            field("GENRE", "string", categorical=True),
            field("YEAR", ["null", year_type]),
        ],
    )


def test_personalize_poc_item_meta_with_a_string_year(shared_data: Path) -> None:
    path = shared_data / "personalize-poc" / "item-meta.csv"
    items = item_meta_schema("string")
    check_dataset_schema(items, "Items", None)
    table = import_csv(path, items)
    expected = data_rows(path)
    assert table.num_rows == len(expected) == 9_742
    assert table.column("YEAR").null_count == sum(1 for r in expected if r[2] == "") == 12
    assert table.column("GENRE")[0].as_py() == "Adventure|Animation|Children|Comedy|Fantasy"
    assert table.schema.field("GENRE").metadata == {b"categorical": b"true"}


def test_personalize_poc_item_meta_with_an_int_year_reports_the_one_range_year(
    shared_data: Path,
) -> None:
    # One MovieLens title carries a year range ("2006–2007"); an int YEAR cannot hold it, and the
    # import must say exactly where, as Personalize would fail the job.
    path = shared_data / "personalize-poc" / "item-meta.csv"
    with pytest.raises(CsvImportError) as info:
        import_csv(path, item_meta_schema("int"))
    assert str(info.value) == (
        "item-meta.csv: data row 9519, column YEAR: value '2006–2007' is not a whole number "
        "that fits the field's type int"
    )


RETAIL_ITEMS = schema(
    "Items",
    [
        field("ITEM_ID"),
        field("PRICE", "float"),
        field("CATEGORY_L1", categorical=True),
        field("CATEGORY_L2", ["null", "string"], categorical=True),
        field("PRODUCT_NAME", itemName=True),
        field("PRODUCT_DESCRIPTION", ["null", "string"], textual=True),
        field("GENDER", ["null", "string"], categorical=True),
        field("PROMOTED", ["null", "string"], categorical=True),
    ],
)
RETAIL_USERS = schema(
    "Users", [field("USER_ID"), field("AGE", "int"), field("GENDER", categorical=True)]
)
RETAIL_INTERACTIONS = schema(
    "Interactions",
    [
        field("USER_ID"),
        field("ITEM_ID"),
        field("EVENT_TYPE"),
        field("TIMESTAMP", "long"),
        field("DISCOUNT", ["null", "string"], categorical=True),
    ],
)


def test_retail_items(shared_data: Path) -> None:
    path = shared_data / "retail" / "items.csv"
    check_dataset_schema(RETAIL_ITEMS, "Items", "ECOMMERCE")
    table = import_csv(path, RETAIL_ITEMS)
    expected = data_rows(path)
    assert table.num_rows == len(expected) == 2_465
    assert table.column("ITEM_ID").to_pylist() == [r[0] for r in expected]
    assert table.column("PRODUCT_DESCRIPTION").to_pylist() == [r[5] or None for r in expected]
    assert table.column("PRICE").to_pylist() == [float(r[1]) for r in expected]


def test_retail_users(shared_data: Path) -> None:
    path = shared_data / "retail" / "users.csv"
    check_dataset_schema(RETAIL_USERS, "Users", "ECOMMERCE")
    table = import_csv(path, RETAIL_USERS)
    expected = data_rows(path)
    assert table.num_rows == len(expected) == 6_000
    assert table.column("AGE").to_pylist() == [int(r[1]) for r in expected]


def test_retail_interactions_gzip_with_columns_in_another_order(shared_data: Path) -> None:
    path = shared_data / "retail" / "interactions.csv.gz"
    check_dataset_schema(RETAIL_INTERACTIONS, "Interactions", "ECOMMERCE")
    table = import_csv(path, RETAIL_INTERACTIONS)
    # No quotes in this file, so lines are records (checked); cheaper than the csv module here.
    raw = gzip.decompress(path.read_bytes())
    assert b'"' not in raw
    expected = [line.split(b",") for line in raw.splitlines()[1:]]
    # ITEM_ID,USER_ID,EVENT_TYPE,TIMESTAMP,DISCOUNT
    assert table.num_rows == len(expected) == 675_004
    assert table.column_names == ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP", "DISCOUNT"]
    assert table.column("ITEM_ID")[-1].as_py() == expected[-1][0].decode()
    assert table.column("USER_ID")[0].as_py() == expected[0][1].decode()
    assert pc.sum(table.column("TIMESTAMP")).as_py() == sum(int(r[3]) for r in expected)
