from __future__ import annotations

import itertools
import json
import re
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from openpersonalize.datasets import PRESETS, SyntheticTables, generate, small, write
from openpersonalize.datasets.writer import Format

PRESET_NAMES = sorted(PRESETS)
AVRO_TO_ARROW = {
    "string": pa.string(),
    "long": pa.int64(),
    "int": pa.int32(),
    "float": pa.float32(),
}


@pytest.fixture(scope="module", params=PRESET_NAMES)
def tables(request: pytest.FixtureRequest) -> SyntheticTables:
    return small(request.param, seed=3)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    a, b, c = (small("custom", seed=s) for s in (5, 5, 6))
    for name in ("interactions", "items", "users"):
        assert a.tables()[name].equals(b.tables()[name])
    assert not a.interactions.equals(c.interactions)
    assert not a.items.equals(c.items)


def test_rows_do_not_depend_on_chunk_size() -> None:
    kwargs = {"n_users": 20_000, "n_items": 500, "n_interactions": 200_000, "seed": 11}
    fine = generate("ecommerce", chunk_users=1, **kwargs)
    coarse = generate("ecommerce", chunk_users=10**9, **kwargs)
    assert fine.config.n_blocks > 2
    for name in ("interactions", "users"):
        fine_batches = list(fine.batches(name))
        assert len(fine_batches) == fine.config.n_blocks
        assert len(list(coarse.batches(name))) == 1
        assert pa.Table.from_batches(fine_batches).equals(coarse.to_table(name))


def test_columns_and_types_match_the_avro_schemas(tables: SyntheticTables) -> None:
    for name, table in tables.tables().items():
        schema = json.loads(tables.schemas[name])
        assert schema["type"] == "record"
        assert schema["name"] == name.capitalize()
        assert schema["namespace"] == "com.amazonaws.personalize.schema"
        assert schema["version"] == "1.0"
        assert table.column_names == [f["name"] for f in schema["fields"]]
        for field in schema["fields"]:
            types = field["type"] if isinstance(field["type"], list) else [field["type"]]
            (concrete,) = [t for t in types if t != "null"]
            assert table.schema.field(field["name"]).type == AVRO_TO_ARROW[concrete]
            if "null" not in types:
                assert table.column(field["name"]).null_count == 0
    fields = {f["name"]: f for f in json.loads(tables.schemas["items"])["fields"]}
    assert sum(bool(f.get("textual")) for f in fields.values()) == 1
    assert sum(bool(f.get("itemName")) for f in fields.values()) == 1
    assert "CREATION_TIMESTAMP" in fields and "PRICE" in fields
    interaction_fields = [f["name"] for f in json.loads(tables.schemas["interactions"])["fields"]]
    assert interaction_fields[:4] == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]


def test_domain_event_types_and_metadata_columns() -> None:
    ecommerce, vod, custom = small("ecommerce"), small("video_on_demand"), small("custom")
    assert ecommerce.domain == "ECOMMERCE" and vod.domain == "VIDEO_ON_DEMAND"
    assert custom.domain is None
    assert set(ecommerce.interactions["EVENT_TYPE"].to_pylist()) == {
        "View",
        "AddToCart",
        "Purchase",
    }
    assert set(vod.interactions["EVENT_TYPE"].to_pylist()) == {"Click", "Watch"}
    assert {"CATEGORY_L1", "CATEGORY_L2", "MEMBERSHIP_STATUS"} <= set(
        ecommerce.items.column_names + ecommerce.users.column_names
    )
    assert {"GENRES", "SUBSCRIPTION_MODEL"} <= set(vod.items.column_names + vod.users.column_names)
    assert any("|" in g for g in vod.items["GENRES"].to_pylist())
    # custom: click has no EVENT_VALUE, watch carries the share watched.
    events = custom.interactions.to_pydict()
    for event_type, value in zip(events["EVENT_TYPE"], events["EVENT_VALUE"], strict=True):
        assert (value is None) == (event_type == "click")
        assert value is None or 0.0 <= value <= 1.0


def test_small_meets_personalize_minimums(tables: SyntheticTables) -> None:
    interactions = tables.interactions
    assert interactions.num_rows >= 1000
    for table in tables.tables().values():
        assert table.num_rows >= 1000  # one import job needs 1,000 records
    per_user = Counter(interactions["USER_ID"].to_pylist())
    with_two = sum(n >= 2 for n in per_user.values())
    assert with_two >= 25 and with_two >= 0.01 * len(per_user)
    types = Counter(interactions["EVENT_TYPE"].to_pylist())
    needed = {"ecommerce": ["View", "Purchase"], "video_on_demand": ["Watch"], "custom": []}
    for event_type in needed[tables.preset]:
        assert types[event_type] >= 1000
    known_users = set(tables.users["USER_ID"].to_pylist())
    known_items = set(tables.items["ITEM_ID"].to_pylist())
    assert set(per_user) <= known_users
    assert set(interactions["ITEM_ID"].to_pylist()) <= known_items


def test_items_exist_before_their_interactions_and_new_items_appear(
    tables: SyntheticTables,
) -> None:
    created = dict(
        zip(
            tables.items["ITEM_ID"].to_pylist(),
            tables.items["CREATION_TIMESTAMP"].to_pylist(),
            strict=True,
        )
    )
    stamps = tables.interactions["TIMESTAMP"].to_numpy()
    item_created = np.array([created[i] for i in tables.interactions["ITEM_ID"].to_pylist()])
    assert (item_created <= stamps).all()
    start = stamps.min()
    assert (
        len(
            {
                i
                for i, c in zip(
                    tables.interactions["ITEM_ID"].to_pylist(), item_created, strict=True
                )
                if c > start
            }
        )
        > 5
    )


def test_popularity_has_a_long_tail() -> None:
    data = generate("ecommerce", n_users=3000, n_items=2000, n_interactions=60_000, seed=2)
    counts = np.sort(np.bincount(data.to_table("interactions")["ITEM_ID"].to_numpy().astype(int)))[
        ::-1
    ]
    top_decile_share = counts[: len(counts) // 10].sum() / counts.sum()
    assert top_decile_share > 0.45


def _sessions(table: pa.Table) -> list[list[str]]:
    """Item sequences per user in time order, repeated items (funnel stages) collapsed."""
    order = np.lexsort((table["TIMESTAMP"].to_numpy(), table["USER_ID"].to_numpy().astype(int)))
    users = table["USER_ID"].to_numpy()[order]
    items = table["ITEM_ID"].to_numpy()[order]
    sequences: dict[str, list[str]] = defaultdict(list)
    for user, item in zip(users, items, strict=True):
        seq = sequences[user]
        if not seq or seq[-1] != item:
            seq.append(item)
    return [s for s in sequences.values() if len(s) >= 3]


def test_next_item_transitions_beat_popularity() -> None:
    table = generate(
        "video_on_demand", n_users=4000, n_items=1500, n_interactions=80_000, seed=4
    ).to_table("interactions")
    sequences = _sessions(table)
    transitions: dict[str, Counter[str]] = defaultdict(Counter)
    popularity: Counter[str] = Counter()
    for seq in sequences:
        popularity.update(seq[:-1])
        for prev, nxt in itertools.pairwise(seq[:-1]):
            transitions[prev][nxt] += 1
    top_popular = [i for i, _ in popularity.most_common(10)]
    hits_seq = hits_pop = 0
    for seq in sequences:
        guesses = [i for i, _ in transitions[seq[-2]].most_common(10)]
        guesses += [i for i in top_popular if i not in guesses][: 10 - len(guesses)]
        hits_seq += seq[-1] in guesses
        hits_pop += seq[-1] in top_popular
    print(
        f"next-item hit@10: transitions {hits_seq / len(sequences):.3f},",
        f"popularity {hits_pop / len(sequences):.3f}",
    )
    assert hits_seq > 2 * hits_pop
    assert hits_seq / len(sequences) > 0.25


def test_descriptions_share_words_within_a_category() -> None:
    items = small("ecommerce").items.to_pydict()
    words = [set(re.findall(r"[a-z]+", d.lower())) for d in items["PRODUCT_DESCRIPTION"]]
    category = items["CATEGORY_L1"]
    rng = np.random.default_rng(0)
    same, other = [], []
    for a, b in rng.integers(0, len(words), (4000, 2)):
        if a == b:
            continue
        jaccard = len(words[a] & words[b]) / len(words[a] | words[b])
        (same if category[a] == category[b] else other).append(jaccard)
    assert np.mean(same) > 1.5 * np.mean(other)


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_write_round_trips(tmp_path: Path, fmt: Format) -> None:
    dataset = generate("ecommerce", n_users=1000, n_items=1000, n_interactions=5000, seed=1)
    paths = write(dataset, tmp_path, fmt, with_schemas=True)
    assert set(paths) == {
        "interactions",
        "items",
        "users",
        "interactions_schema",
        "items_schema",
        "users_schema",
    }
    for name in ("interactions", "items", "users"):
        expected = dataset.to_table(name)
        path = paths[name]
        assert path.name == f"{name}.{fmt}"
        if fmt == "parquet":
            got = pq.read_table(path)
        else:
            schema = dataset.arrow_schema(name)
            options = pacsv.ConvertOptions(column_types={f.name: f.type for f in schema})
            got = pacsv.read_csv(path, convert_options=options)
        assert got.column_names == expected.column_names
        assert got.to_pydict() == expected.to_pydict()
        assert json.loads(paths[f"{name}_schema"].read_text())["fields"]
    if fmt == "csv":
        header = paths["items"].read_text().splitlines()[0]
        assert header == ",".join(dataset.arrow_schema("items").names)  # no quotes


def test_streams_a_million_rows_to_csv_in_bounded_memory(tmp_path: Path) -> None:
    dataset = generate(
        "ecommerce", n_users=50_000, n_items=20_000, n_interactions=1_000_000, seed=9
    )
    dataset.catalog  # noqa: B018 - built once, outside the measurement
    arrow_peak = 0
    batches = dataset.interactions

    def watched() -> Iterator[pa.RecordBatch]:
        nonlocal arrow_peak
        for batch in batches():
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
            yield batch

    object.__setattr__(dataset, "interactions", watched)
    tracemalloc.start()
    started = time.perf_counter()
    paths = write(dataset, tmp_path, "csv")
    elapsed = time.perf_counter() - started
    _, numpy_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with paths["interactions"].open("rb") as f:
        rows = sum(1 for _ in f) - 1
    assert rows == 1_000_000
    csv_bytes = paths["interactions"].stat().st_size
    assert csv_bytes > 20_000_000
    # Neither numpy nor Arrow ever holds more than a small fraction of the output.
    assert numpy_peak < csv_bytes / 3
    assert arrow_peak < csv_bytes / 3
    print(
        f"1M interactions + items + users to CSV in {elapsed:.2f} s;",
        f"peaks numpy {numpy_peak / 1e6:.1f} MB, arrow {arrow_peak / 1e6:.1f} MB,",
        f"csv {csv_bytes / 1e6:.1f} MB",
    )
    assert elapsed < 15
