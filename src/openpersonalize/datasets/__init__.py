"""Synthetic Amazon Personalize dataset groups for tests, demos and benchmarks.

Three presets give Personalize-layout Interactions, Items and Users data sets with matching Avro
schemas: ``custom`` (``click``/``watch`` with ``EVENT_VALUE``), ``ecommerce`` (``View`` →
``AddToCart`` → ``Purchase``) and ``video_on_demand`` (``Click`` → ``Watch``). The rows have a long
tail of item popularity, users in taste clusters, items with likely successors, trending and new
items, sessions and a funnel of event types. The same arguments always give the same rows.

Usage::

    from openpersonalize.datasets import generate, small, write

    tables = small("ecommerce", seed=0)  # in-memory pyarrow Tables, meets Personalize minimums
    tables.interactions.num_rows         # 20_000

    dataset = generate("video_on_demand", n_users=100_000, n_items=20_000,
                       n_interactions=5_000_000, seed=7)
    for batch in dataset.interactions():  # lazy pyarrow RecordBatches, bounded memory
        ...
    paths = write(dataset, "out/", fmt="csv.gz")  # {"interactions": Path(...), ...}
    dataset.schemas["interactions"]               # Avro schema JSON for CreateSchema

See docs/synthetic-data.md for columns and knobs.
"""

from openpersonalize.datasets.config import GeneratorConfig
from openpersonalize.datasets.presets import DATASET_NAMES, PRESETS, Field, Preset, get_preset
from openpersonalize.datasets.synthetic import SyntheticDataset, SyntheticTables, generate, small
from openpersonalize.datasets.writer import FORMATS, write

__all__ = [
    "DATASET_NAMES",
    "FORMATS",
    "PRESETS",
    "Field",
    "GeneratorConfig",
    "Preset",
    "SyntheticDataset",
    "SyntheticTables",
    "generate",
    "get_preset",
    "small",
    "write",
]
