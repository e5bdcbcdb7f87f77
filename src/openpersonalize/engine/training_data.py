"""Build :class:`~openpersonalize.engine.base.TrainingData` from dataset records (pyarrow Tables).

This is the edge where external ids become indices and where a solution's data options are
applied, in Personalize's order: ``trainingDataConfig`` column selection, ``eventType`` and
``eventValueThreshold``, ``eventsConfig`` (per-type thresholds and weights), then the minimum-data
rules, with AWS's failure messages (spec §7.1). Event types are matched case-insensitively.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import TrainingData


class TrainingDataError(Exception):
    """Training cannot start; ``message`` is the failureReason Personalize would report."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MinimumData:
    """Minimum-data rules; AWS's values by default, lowered in configuration for demos/tests."""

    interactions: int = 1000
    users_with_two_interactions: int = 25


@dataclass(frozen=True)
class EventParameters:
    """One entry of ``eventsConfig.eventParametersList``."""

    event_type: str
    event_value_threshold: float | None = None
    weight: float = 1.0


def fewer_interactions_message(minimum: int, event_type: str | None) -> str:
    if event_type:
        return (
            f"Dataset has fewer than {minimum} interactions after filtering by event type: "
            f"{event_type}"
        )
    return f"Dataset has fewer than {minimum} interactions."


def fewer_users_message(minimum: int) -> str:
    return (
        f"Create failed. Dataset has fewer than {minimum} users with at least 2 interactions each."
    )


# --- schema helpers --------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    avro_type: str  # string, int, long, float, double, boolean
    categorical: bool = False
    textual: bool = False
    item_name: bool = False


def _base_type(avro: Any) -> str:
    if isinstance(avro, list):
        non_null = [t for t in avro if t != "null"]
        return _base_type(non_null[0]) if non_null else "null"
    if isinstance(avro, Mapping):
        return _base_type(avro.get("type"))
    return str(avro)


def schema_fields(schema: Mapping[str, Any] | None, table: pa.Table) -> dict[str, FieldSpec]:
    """Field specs by column name; without a schema, strings are categorical, numbers numeric."""
    specs: dict[str, FieldSpec] = {}
    if schema is not None:
        for field in schema.get("fields", []):
            specs[str(field["name"])] = FieldSpec(
                str(field["name"]),
                _base_type(field.get("type")),
                bool(field.get("categorical", False)),
                bool(field.get("textual", False)),
                bool(field.get("itemName", False)),
            )
        return specs
    for field in table.schema:
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            specs[field.name] = FieldSpec(field.name, "string", categorical=True)
        elif pa.types.is_boolean(field.type):
            specs[field.name] = FieldSpec(field.name, "boolean")
        elif pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            specs[field.name] = FieldSpec(field.name, "double")
    return specs


def _find(table: pa.Table, name: str) -> str | None:
    """The table's column called ``name``, matched case-insensitively."""
    for column in table.column_names:
        if str(column).upper() == name.upper():
            return str(column)
    return None


def _selected_columns(
    dataset_type: str, columns: Sequence[str], config: Mapping[str, Any] | None
) -> list[str]:
    """Apply ``trainingDataConfig`` include / exclude lists (keys matched case-insensitively)."""
    if not config:
        return list(columns)

    def lookup(key: str) -> list[str] | None:
        per_type = config.get(key) or {}
        for k, v in per_type.items():
            if str(k).upper() == dataset_type:
                return [str(c) for c in v]
        return None

    included = lookup("includedDatasetColumns")
    excluded = set(c.upper() for c in lookup("excludedDatasetColumns") or [])
    out = [c for c in columns if c.upper() not in excluded]
    if included is not None:
        wanted = {c.upper() for c in included}
        out = [c for c in out if c.upper() in wanted]
    return out


# --- events ----------------------------------------------------------------------------------


def parse_events_config(events_config: Mapping[str, Any] | None) -> list[EventParameters]:
    """``{"eventParametersList": [{eventType, eventValueThreshold, weight}]}`` → parameters."""
    if not events_config:
        return []
    out = []
    for entry in events_config.get("eventParametersList") or []:
        threshold = entry.get("eventValueThreshold")
        weight = entry.get("weight", 1.0)
        out.append(
            EventParameters(
                str(entry["eventType"]),
                None if threshold is None else float(threshold),
                1.0 if weight is None else float(weight),
            )
        )
    return out


def _as_str(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.cast(column, pa.string()).to_pylist(), dtype=object)


def _as_string_array(column: pa.ChunkedArray) -> pa.Array:
    """The column cast to strings, as one contiguous Arrow array."""
    out: pa.Array = pc.cast(column, pa.string()).combine_chunks()
    return out


def _encode(strings: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Codes (int64, -1 for null) and the distinct strings in order of first appearance."""
    encoded = strings.dictionary_encode()
    codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)
    names = [str(x) for x in encoded.dictionary.to_pylist()]
    return codes, names


def _as_float(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        values = [_parse_float(v) for v in column.to_pylist()]
        return np.asarray(values, dtype=np.float64)
    if pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.float64())
    return np.asarray(pc.fill_null(pc.cast(column, pa.float64()), math.nan), dtype=np.float64)


def _parse_float(value: object) -> float:
    if value is None:
        return math.nan
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return 1.0 if text == "true" else 0.0
    try:
        return float(text)
    except ValueError:
        return math.nan


# --- the builder -----------------------------------------------------------------------------


def build_training_data(
    interactions: pa.Table,
    items: pa.Table | None = None,
    users: pa.Table | None = None,
    *,
    items_schema: Mapping[str, Any] | None = None,
    users_schema: Mapping[str, Any] | None = None,
    event_type: str | None = None,
    event_value_threshold: str | float | None = None,
    events_config: Mapping[str, Any] | None = None,
    training_data_config: Mapping[str, Any] | None = None,
    minimums: MinimumData | None = MinimumData(),
) -> TrainingData:
    """Filter, index and check the records; raise TrainingDataError with AWS's message.

    ``interactions`` needs USER_ID, ITEM_ID, TIMESTAMP (epoch seconds) and may carry EVENT_TYPE,
    EVENT_VALUE and other columns (names matched case-insensitively). ``items`` / ``users`` hold
    ITEM_ID / USER_ID plus metadata; their Avro schemas (parsed JSON) say which string fields are
    ``categorical``, ``textual`` or the ``itemName``. ``minimums=None`` disables the checks.
    """
    columns: dict[str, str] = {}
    for name in ("USER_ID", "ITEM_ID", "TIMESTAMP"):
        found = _find(interactions, name)
        if found is None:
            raise TrainingDataError(f"Interactions data is missing the required column {name}.")
        columns[name] = found
    # Vectorised in Arrow: no per-row Python objects (10 M rows build in seconds).
    user_col = _as_string_array(interactions[columns["USER_ID"]])
    item_col = _as_string_array(interactions[columns["ITEM_ID"]])
    timestamps = _as_float(interactions[columns["TIMESTAMP"]])
    n_rows = len(user_col)
    type_col = _find(interactions, "EVENT_TYPE")
    value_col = _find(interactions, "EVENT_VALUE")
    types = _as_string_array(interactions[type_col]) if type_col else pa.nulls(n_rows, pa.string())
    values = (
        _as_float(interactions[value_col])
        if value_col
        else np.full(n_rows, math.nan, dtype=np.float64)
    )
    keep = (
        np.asarray(pc.is_valid(user_col), dtype=bool)
        & np.asarray(pc.is_valid(item_col), dtype=bool)
        & np.isfinite(timestamps)
    )
    lowered = pc.fill_null(pc.utf8_lower(types), "")
    weights = np.ones(n_rows, dtype=np.float32)

    def type_is(name: str) -> np.ndarray:
        return np.asarray(pc.equal(lowered, name.lower()), dtype=bool)

    if event_type:
        keep &= type_is(event_type)
    if event_value_threshold is not None and str(event_value_threshold).strip() != "":
        try:
            threshold = float(event_value_threshold)
        except ValueError:
            raise TrainingDataError(
                f"Invalid eventValueThreshold: {event_value_threshold!r} is not a number."
            ) from None
        keep &= np.nan_to_num(values, nan=-np.inf) >= threshold
    parameters = parse_events_config(events_config)
    if parameters:
        # Only the event types listed take part; weights keep their ratios (max scaled to 1).
        listed = np.zeros(n_rows, dtype=bool)
        top = max((p.weight for p in parameters), default=1.0) or 1.0
        for p in parameters:
            match = type_is(p.event_type)
            if p.event_value_threshold is not None:
                match &= np.nan_to_num(values, nan=-np.inf) >= p.event_value_threshold
            listed |= match
            weights[match] = p.weight / top
        keep &= listed & (weights > 0)

    rows = np.flatnonzero(keep)
    order = rows[np.argsort(timestamps[rows], kind="stable")]
    # Dictionary encoding of the time-ordered ids numbers them in order of first appearance,
    # exactly as a Vocabulary filled in that order would.
    take = pa.array(order, type=pa.int64())
    user_codes, user_dict = _encode(user_col.take(take))
    item_codes, item_dict = _encode(item_col.take(take))
    if minimums is not None:
        if order.size < minimums.interactions:
            raise TrainingDataError(fewer_interactions_message(minimums.interactions, event_type))
        per_user = np.bincount(user_codes, minlength=len(user_dict))
        if int((per_user >= 2).sum()) < minimums.users_with_two_interactions:
            raise TrainingDataError(fewer_users_message(minimums.users_with_two_interactions))

    user_vocab = Vocabulary(user_dict)
    item_vocab = Vocabulary(item_dict)
    item_rows: dict[str, int] = {}
    if items is not None:
        id_col = _find(items, "ITEM_ID")
        if id_col is None:
            raise TrainingDataError("Items data is missing the required column ITEM_ID.")
        for row, item_id in enumerate(_as_str(items[id_col])):
            if item_id is not None:
                item_vocab.add(str(item_id))
                item_rows[str(item_id)] = row  # the newest record of an id wins

    # Event type names keep their raw spelling, numbered in order of first (timestamp) appearance.
    event_type_idx, type_names = _encode(types.take(take))

    data = TrainingData(
        users=user_vocab,
        items=item_vocab,
        user_idx=user_codes,
        item_idx=item_codes,
        timestamp=timestamps[order].astype(np.float64),
        event_type=event_type_idx,
        event_types=type_names,
        event_value=values[order].astype(np.float32),
        weight=weights[order],
    )
    if items is not None:
        _attach_items(data, items, item_rows, items_schema, training_data_config)
    if users is not None:
        _attach_users(data, users, users_schema, training_data_config)
    return data


def _aligned_rows(vocab: Vocabulary, rows: Mapping[str, int]) -> np.ndarray:
    """For each vocabulary index, the table row holding its metadata (-1 when none)."""
    return np.array([rows.get(i, -1) for i in vocab.ids()], dtype=np.int64)


def _gather(values: np.ndarray, positions: np.ndarray, fill: Any) -> np.ndarray:
    out = np.empty(positions.shape[0], dtype=values.dtype)
    present = positions >= 0
    out[present] = values[positions[present]]
    out[~present] = fill
    return out


def _category_lists(raw: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Multi-value categorical cells ("a|b") as an object array of lists, aligned to positions."""
    out = np.empty(positions.shape[0], dtype=object)
    for i, row in enumerate(positions):
        cell = raw[row] if row >= 0 else None
        out[i] = [v for v in cell.split("|") if v] if isinstance(cell, str) else []
    return out


def _metadata_columns(
    table: pa.Table,
    dataset_type: str,
    id_column: str,
    schema: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
) -> tuple[dict[str, FieldSpec], list[str]]:
    specs = schema_fields(schema, table)
    names = [c for c in table.column_names if c.upper() != id_column and c in specs]
    return specs, _selected_columns(dataset_type, names, config)


def _attach_items(
    data: TrainingData,
    items: pa.Table,
    rows: Mapping[str, int],
    schema: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
) -> None:
    positions = _aligned_rows(data.items, rows)
    specs, names = _metadata_columns(items, "ITEMS", "ITEM_ID", schema, config)
    for name in names:
        spec = specs[name]
        if name.upper() == "CREATION_TIMESTAMP":
            data.item_creation_timestamp = _gather(_as_float(items[name]), positions, math.nan)
            continue
        if spec.avro_type == "string":
            raw = _as_str(items[name])
            if spec.categorical:
                data.item_columns[name] = _category_lists(raw, positions)
                data.item_categorical.append(name)
            elif spec.textual or spec.item_name:
                text = np.array([s if isinstance(s, str) else "" for s in raw], dtype=object)
                data.item_columns[name] = _gather(text, positions, "")
                if spec.textual:
                    data.item_textual.append(name)
                if spec.item_name:
                    data.item_name_column = name
            # other strings are not used for training (spec §1.6)
        else:
            data.item_columns[name] = _gather(_as_float(items[name]), positions, math.nan)


def _attach_users(
    data: TrainingData,
    users: pa.Table,
    schema: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
) -> None:
    id_col = _find(users, "USER_ID")
    if id_col is None:
        raise TrainingDataError("Users data is missing the required column USER_ID.")
    rows = {str(u): r for r, u in enumerate(_as_str(users[id_col])) if u is not None}
    positions = _aligned_rows(data.users, rows)
    specs, names = _metadata_columns(users, "USERS", "USER_ID", schema, config)
    for name in names:
        spec = specs[name]
        if spec.avro_type == "string":
            if not spec.categorical:
                continue
            data.user_columns[name] = _category_lists(_as_str(users[name]), positions)
            data.user_categorical.append(name)
        else:
            data.user_columns[name] = _gather(_as_float(users[name]), positions, math.nan)
