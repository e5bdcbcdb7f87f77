"""CSV import: column matching, type coercion, and an error that names file, row and column."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from openpersonalize.data.csv_import import CsvImportError, import_csv, iter_csv_batches
from openpersonalize.data.schemas import AvroSchema
from tests.schemas import field

from ._schemas import interactions, schema

INTERACTIONS = schema(
    "Interactions",
    interactions(field("EVENT_TYPE"), field("EVENT_VALUE", ["null", "float"])),
)
ITEMS = schema(
    "Items",
    [
        field("ITEM_ID"),
        field("GENRES", ["null", "string"], categorical=True),
        field("YEAR", ["null", "int"]),
        field("DESCRIPTION", ["null", "string"], textual=True),
        field("ON_SALE", ["null", "boolean"]),
        field("PRICE", "double"),
    ],
)


def read(data: str | bytes, schema_: AvroSchema = INTERACTIONS, name: str = "in.csv") -> pa.Table:
    raw = data.encode() if isinstance(data, str) else data
    return import_csv(raw, schema_, file_name=name)


def failure(
    data: str | bytes, schema_: AvroSchema = INTERACTIONS, name: str = "in.csv"
) -> CsvImportError:
    with pytest.raises(CsvImportError) as info:
        read(data, schema_, name)
    return info.value


def rows(table: pa.Table) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = table.to_pylist()
    return result


# --- reading -------------------------------------------------------------------------------------


def test_reads_columns_in_any_order_into_the_schema_order_and_types() -> None:
    table = read("EVENT_TYPE,TIMESTAMP,ITEM_ID,USER_ID,EVENT_VALUE\nclick,1600000000,i1,u1,0.5\n")
    assert table.schema == INTERACTIONS.to_arrow_schema()
    assert rows(table) == [
        {
            "USER_ID": "u1",
            "ITEM_ID": "i1",
            "TIMESTAMP": 1600000000,
            "EVENT_TYPE": "click",
            "EVENT_VALUE": 0.5,
        }
    ]


def test_pandas_files_index_column_empty_cells_and_float_timestamps() -> None:
    csv = (
        ",USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
        "0,1,10,1234567890.0,watch,\n"
        "1,2,20,1234567891.0,click,1.5\n"
    )
    table = read(csv)
    assert table.column("TIMESTAMP").to_pylist() == [1234567890, 1234567891]
    assert table.column("EVENT_VALUE").to_pylist() == [None, 1.5]
    assert table.column("USER_ID").to_pylist() == ["1", "2"]


def test_header_names_match_case_insensitively_and_extra_columns_are_ignored() -> None:
    table = read("user_id,Item_Id,timestamp,event_type,EVENT_VALUE,comment\nu,i,1,view,2,ignored\n")
    assert table.column_names == list(INTERACTIONS.field_names)
    assert table.num_rows == 1


def test_values_of_every_type() -> None:
    csv = (
        "ITEM_ID,GENRES,YEAR,DESCRIPTION,ON_SALE,PRICE\n"
        'a,Comedy|Drama,1995,"Says ""hi"", then \\"bye\\" \\\\ done",true,1.25\n'
        'b,,1995.0,"two\nlines",false,1e3\n'
        "c,Horror,,,,-0.5\n"
    )
    assert rows(read(csv, ITEMS)) == [
        {
            "ITEM_ID": "a",
            "GENRES": "Comedy|Drama",
            "YEAR": 1995,
            "DESCRIPTION": 'Says "hi", then "bye" \\ done',
            "ON_SALE": True,
            "PRICE": 1.25,
        },
        {
            "ITEM_ID": "b",
            "GENRES": None,
            "YEAR": 1995,
            "DESCRIPTION": "two\nlines",
            "ON_SALE": False,
            "PRICE": 1000.0,
        },
        {
            "ITEM_ID": "c",
            "GENRES": "Horror",
            "YEAR": None,
            "DESCRIPTION": None,
            "ON_SALE": None,
            "PRICE": -0.5,
        },
    ]
    arrow_field = read(csv, ITEMS).schema.field("GENRES")
    assert arrow_field.metadata == {b"categorical": b"true"}


def test_null_like_words_are_values_not_nulls() -> None:
    table = read("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nNULL,NA,1,null,\n")
    assert rows(table)[0]["USER_ID"] == "NULL"
    assert rows(table)[0]["ITEM_ID"] == "NA"
    assert rows(table)[0]["EVENT_TYPE"] == "null"


def test_gzip_crlf_bom_and_all_source_kinds(tmp_path: Path) -> None:
    csv = (
        "\ufeffUSER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\r\n"
        "u1,i1,5,click,\r\nu2,i2,6,buy,1\r\n"
    )
    plain = tmp_path / "plain.csv"
    plain.write_bytes(csv.encode())
    packed = tmp_path / "packed.csv.gz"
    packed.write_bytes(gzip.compress(csv.encode()))
    expected = read(csv)
    assert expected.num_rows == 2
    assert expected.column("USER_ID").to_pylist() == ["u1", "u2"]
    for source in (
        plain,
        str(packed),
        packed.read_bytes(),
        io.BytesIO(packed.read_bytes()),
        io.BytesIO(csv.encode()),
    ):
        assert import_csv(source, INTERACTIONS).equals(expected)


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def test_unseekable_streams_plain_and_gzip() -> None:
    csv = b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu1,i1,5,click,\n"
    for data in (csv, gzip.compress(csv)):
        table = import_csv(_Unseekable(data), INTERACTIONS)  # type: ignore[arg-type]
        assert table.column("USER_ID").to_pylist() == ["u1"]
    # Without a way to rescan, a structural error still names the file and the row.
    bad = csv + b"u2,i2\n"
    with pytest.raises(CsvImportError, match=r"^stream\.csv: data row 1: could not parse"):
        import_csv(_Unseekable(bad), INTERACTIONS, file_name="stream.csv")  # type: ignore[arg-type]


def test_header_only_file_gives_an_empty_table() -> None:
    table = read("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n")
    assert table.num_rows == 0
    assert table.schema == INTERACTIONS.to_arrow_schema()


def test_streams_batches_and_counts_every_row(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    lines += [f"u{i},i{i % 97},{1_600_000_000 + i},click,{i % 5}" for i in range(50_000)]
    path.write_text("\n".join(lines) + "\n")
    batches = list(iter_csv_batches(path, INTERACTIONS, block_size=64 << 10))
    assert len(batches) > 5
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 50_000
    assert table.column("USER_ID")[49_999].as_py() == "u49999"


# --- errors --------------------------------------------------------------------------------------


def rows_of_interactions(n: int, bad_row: int | None = None, bad_line: str = "") -> str:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    for row in range(1, n + 1):
        lines.append(bad_line if row == bad_row else f"u{row},i{row},{1_600_000_000 + row},click,1")
    return "\n".join(lines) + "\n"


def test_missing_required_columns_are_listed_like_aws() -> None:
    error = failure("USER_ID,ITEM_ID\nu,i\n", name="interactions.csv")
    assert str(error) == (
        "interactions.csv: line 1 (header), column TIMESTAMP, EVENT_TYPE, EVENT_VALUE: "
        "Input CSV is missing the following columns: [TIMESTAMP, EVENT_TYPE, EVENT_VALUE]"
    )
    assert error.errors[0].line == 1


def test_duplicated_header() -> None:
    error = failure("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,user_id\nu,i,1,c,1,u\n")
    assert "in.csv: line 1 (header), column USER_ID: duplicated header" in str(error)
    assert "#1 ('USER_ID') and #6 ('user_id')" in str(error)


def test_wrong_type_in_row_5000_names_file_row_and_column() -> None:
    csv = rows_of_interactions(10_000, bad_row=5_000, bad_line="u,i,not-a-time,click,1")
    error = failure(csv, name="big.csv")
    assert len(error.errors) == 1
    assert error.errors[0].row == 5_000
    assert error.errors[0].column == "TIMESTAMP"
    assert str(error) == (
        "big.csv: data row 5000, column TIMESTAMP: value 'not-a-time' is not a whole number "
        "that fits the field's type long"
    )


def test_wrong_type_found_in_a_later_streamed_batch(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text(rows_of_interactions(40_000, bad_row=33_333, bad_line="u,i,1,click,lots"))
    streamed = 0
    with pytest.raises(CsvImportError) as info:
        for _ in iter_csv_batches(path, INTERACTIONS, block_size=64 << 10):
            streamed += 1
    assert streamed > 5  # the good batches before it came out first: found while streaming
    assert str(info.value) == (
        "late.csv: data row 33333, column EVENT_VALUE: value 'lots' is not a number (type float)"
    )


def test_collects_the_first_five_errors_in_row_order() -> None:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    lines += [
        f"u{i},i,{'x' if i % 2 else '1'},click,{'y' if i % 3 == 0 else '1'}" for i in range(1, 20)
    ]
    error = failure("\n".join(lines) + "\n")
    assert [(e.row, e.column) for e in error.errors] == [
        (1, "TIMESTAMP"),
        (3, "TIMESTAMP"),
        (3, "EVENT_VALUE"),
        (5, "TIMESTAMP"),
        (6, "EVENT_VALUE"),
    ]
    assert str(error).count("; ") == 4


def test_empty_file() -> None:
    for data in ("", "\n\n", "   "):
        error = failure(data, name="empty.csv")
        assert str(error) == (
            "empty.csv: line 1 (header): the file is empty; a header row naming the columns is "
            "required"
        )
    assert "file is empty" in str(failure(gzip.compress(b""), name="empty.csv.gz"))


def test_non_utf8_bytes() -> None:
    csv = rows_of_interactions(10).encode().replace(b"u7,i7", b"u7,i\xff\xfe7")
    error = failure(csv, name="latin.csv")
    assert str(error) == (
        "latin.csv: data row 7 (line 8), column ITEM_ID: invalid UTF-8 byte 0xff; "
        "files must be UTF-8 encoded"
    )


def test_unterminated_quote() -> None:
    csv = rows_of_interactions(10, bad_row=4, bad_line='u4,i4,1600000004,"click,1')
    error = failure(csv, name="q.csv")
    assert str(error) == (
        "q.csv: data row 4 (line 5), column EVENT_TYPE: unterminated quote: a quoted value "
        "opened here is never closed"
    )


def test_wrong_number_of_columns() -> None:
    csv = rows_of_interactions(10, bad_row=3, bad_line="u3,i3,1600000003")
    error = failure(csv, name="short.csv")
    assert str(error) == (
        "short.csv: data row 3 (line 4), column EVENT_TYPE: expected 5 columns as in the header, "
        "found 3"
    )


def test_line_and_row_differ_after_multiline_values() -> None:
    csv = 'ITEM_ID,PRICE\n"a\nb\nc",1\nx,2,3\n'
    error = failure(csv, schema("Items", [field("ITEM_ID"), field("PRICE", "float")]), "m.csv")
    assert (error.errors[0].row, error.errors[0].line) == (2, 5)


def test_id_longer_than_256_characters() -> None:
    csv = rows_of_interactions(5, bad_row=2, bad_line=f"{'u' * 257},i,1600000000,click,1")
    assert str(failure(csv, name="ids.csv")) == (
        "ids.csv: data row 2, column USER_ID: value is 257 characters long; "
        "ids may have at most 256 characters"
    )
    read(rows_of_interactions(5, bad_row=2, bad_line=f"{'u' * 256},i,1600000000,click,1"))


def test_categorical_value_longer_than_1000_characters() -> None:
    long_genre = "g" * 1001
    error = failure(
        f"ITEM_ID,GENRES,YEAR,DESCRIPTION,ON_SALE,PRICE\na,ok|{long_genre},,,,1\n", ITEMS
    )
    assert "data row 1, column GENRES: a value between '|' separators is longer than 1000" in str(
        error
    )
    # Each value counts, not the whole multi-value cell.
    read(f"ITEM_ID,GENRES,YEAR,DESCRIPTION,ON_SALE,PRICE\na,{'g' * 900}|{'h' * 900},,,,1\n", ITEMS)


def test_timestamps_in_milliseconds() -> None:
    csv = rows_of_interactions(5, bad_row=5, bad_line="u,i,1600000000123,click,1")
    assert str(failure(csv, name="ms.csv")) == (
        "ms.csv: data row 5, column TIMESTAMP: timestamp 1600000000123 is too large: timestamps "
        "must be Unix epoch seconds, not milliseconds (divide by 1000)"
    )


def test_empty_value_in_a_required_field() -> None:
    csv = rows_of_interactions(5, bad_row=2, bad_line=",i,1600000000,click,1")
    assert str(failure(csv)) == (
        "in.csv: data row 2, column USER_ID: empty value in a field that is not nullable"
    )


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("True", "value 'True' is not a boolean; booleans must be lowercase true or false"),
        ("yes", "value 'yes' is not a boolean"),
    ],
)
def test_booleans_must_be_lowercase(cell: str, message: str) -> None:
    error = failure(f"ITEM_ID,GENRES,YEAR,DESCRIPTION,ON_SALE,PRICE\na,,,,{cell},1\n", ITEMS)
    assert message in str(error)


@pytest.mark.parametrize("year", ["1995.5", "3000000000", "MCMXCV", "19 95"])
def test_integers_must_be_whole_and_in_range(year: str) -> None:
    error = failure(f"ITEM_ID,GENRES,YEAR,DESCRIPTION,ON_SALE,PRICE\na,,{year},,,1\n", ITEMS)
    assert f"data row 1, column YEAR: value '{year}' is not a whole number" in str(error)


@pytest.mark.parametrize(
    ("year", "value"), [("1995", 1995), ("1995.0", 1995), ("+7", 7), ("-3", -3)]
)
def test_integer_spellings(year: str, value: int) -> None:
    table = read(f"ITEM_ID,GENRES,YEAR,DESCRIPTION,ON_SALE,PRICE\na,,{year},,,1\n", ITEMS)
    assert table.column("YEAR").to_pylist() == [value]


def test_failure_reason_is_the_message() -> None:
    error = failure("USER_ID\nu\n")
    assert error.failure_reason == str(error)
    assert error.errors[0].file_name == "in.csv"
