"""Presets: which columns each data set has, their Avro schemas and the event funnel.

A field's ``role`` says which generated quantity fills the column; the column name is whatever the
Personalize layout of that preset calls it (``PRODUCT_NAME`` in a shop, ``TITLE`` for a film).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

DATASET_NAMES: tuple[str, ...] = ("interactions", "items", "users")
_RECORD_NAMES = {"interactions": "Interactions", "items": "Items", "users": "Users"}
_ARROW_TYPES = {
    "long": pa.int64(),
    "int": pa.int32(),
    "float": pa.float32(),
    "double": pa.float64(),
    "string": pa.string(),
    "boolean": pa.bool_(),
}

Role = Literal[
    "user_id", "item_id", "timestamp", "event_type", "event_value",
    "price", "category_l1", "category_l2", "genres", "name", "description", "created", "duration",
    "age", "gender", "tier",
]  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One Avro field; ``avro_type`` is ``"long"`` or a union such as ``("null", "float")``."""

    name: str
    avro_type: str | tuple[str, ...]
    role: Role
    categorical: bool = False
    textual: bool = False
    item_name: bool = False

    def to_avro(self) -> dict[str, Any]:
        field: dict[str, Any] = {
            "name": self.name,
            "type": list(self.avro_type) if isinstance(self.avro_type, tuple) else self.avro_type,
        }
        if self.categorical:
            field["categorical"] = True
        if self.textual:
            field["textual"] = True
        if self.item_name:
            field["itemName"] = True
        return field

    def to_arrow(self) -> pa.Field:
        types = self.avro_type if isinstance(self.avro_type, tuple) else (self.avro_type,)
        concrete = [t for t in types if t != "null"]
        return pa.field(self.name, _ARROW_TYPES[concrete[0]], nullable="null" in types)


@dataclass(frozen=True)
class Preset:
    """A data set group layout plus the behaviour that differs between domains.

    ``event_types`` is a funnel: every item visit yields the first event type, and each further
    stage follows the previous one with the matching probability in ``continue_probs``.
    """

    name: str
    domain: str | None  # "ECOMMERCE", "VIDEO_ON_DEMAND" or None (custom)
    catalog: Literal["shop", "films"]
    event_types: tuple[str, ...]
    continue_probs: tuple[float, ...]
    interactions: tuple[Field, ...]
    items: tuple[Field, ...]
    users: tuple[Field, ...]
    tiers: tuple[str, ...]  # values of the users' membership/subscription column
    tier_probs: tuple[float, ...]

    def fields(self, dataset: str) -> tuple[Field, ...]:
        if dataset not in DATASET_NAMES:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASET_NAMES}")
        fields: tuple[Field, ...] = getattr(self, dataset)
        return fields

    def avro_schema(self, dataset: str) -> str:
        """The Personalize Avro schema JSON string for ``dataset``."""
        return json.dumps(
            {
                "type": "record",
                "name": _RECORD_NAMES[dataset],
                "namespace": "com.amazonaws.personalize.schema",
                "fields": [f.to_avro() for f in self.fields(dataset)],
                "version": "1.0",
            }
        )

    def arrow_schema(self, dataset: str) -> pa.Schema:
        return pa.schema([f.to_arrow() for f in self.fields(dataset)])


def _interactions(event_value: bool) -> tuple[Field, ...]:
    fields: tuple[Field, ...] = (
        Field("USER_ID", "string", "user_id"),
        Field("ITEM_ID", "string", "item_id"),
        Field("TIMESTAMP", "long", "timestamp"),
        Field("EVENT_TYPE", "string", "event_type"),
    )
    if event_value:
        fields += (Field("EVENT_VALUE", ("null", "float"), "event_value"),)
    return fields


def _users(tier_column: str) -> tuple[Field, ...]:
    return (
        Field("USER_ID", "string", "user_id"),
        Field("AGE", "int", "age"),
        Field("GENDER", "string", "gender", categorical=True),
        Field(tier_column, "string", "tier", categorical=True),
    )


ECOMMERCE = Preset(
    name="ecommerce",
    domain="ECOMMERCE",
    catalog="shop",
    event_types=("View", "AddToCart", "Purchase"),
    continue_probs=(0.2, 0.5),
    interactions=_interactions(event_value=False),
    items=(
        Field("ITEM_ID", "string", "item_id"),
        Field("PRICE", "float", "price"),
        Field("CATEGORY_L1", "string", "category_l1", categorical=True),
        Field("CATEGORY_L2", "string", "category_l2", categorical=True),
        Field("PRODUCT_NAME", "string", "name", item_name=True),
        Field("PRODUCT_DESCRIPTION", ("null", "string"), "description", textual=True),
        Field("CREATION_TIMESTAMP", "long", "created"),
    ),
    users=_users("MEMBERSHIP_STATUS"),
    tiers=("basic", "silver", "gold"),
    tier_probs=(0.65, 0.25, 0.10),
)

VIDEO_ON_DEMAND = Preset(
    name="video_on_demand",
    domain="VIDEO_ON_DEMAND",
    catalog="films",
    event_types=("Click", "Watch"),
    continue_probs=(0.55,),
    interactions=_interactions(event_value=False),
    items=(
        Field("ITEM_ID", "string", "item_id"),
        Field("GENRES", "string", "genres", categorical=True),
        Field("PRICE", ("null", "float"), "price"),
        Field("DURATION", ("null", "float"), "duration"),
        Field("TITLE", "string", "name", item_name=True),
        Field("PRODUCT_DESCRIPTION", ("null", "string"), "description", textual=True),
        Field("CREATION_TIMESTAMP", "long", "created"),
    ),
    users=_users("SUBSCRIPTION_MODEL"),
    tiers=("free", "standard", "premium"),
    tier_probs=(0.5, 0.35, 0.15),
)

CUSTOM = Preset(
    name="custom",
    domain=None,
    catalog="films",
    event_types=("click", "watch"),
    continue_probs=(0.6,),
    interactions=_interactions(event_value=True),
    items=(
        Field("ITEM_ID", "string", "item_id"),
        Field("GENRES", "string", "genres", categorical=True),
        Field("PRICE", "float", "price"),
        Field("TITLE", "string", "name", item_name=True),
        Field("DESCRIPTION", ("null", "string"), "description", textual=True),
        Field("CREATION_TIMESTAMP", "long", "created"),
    ),
    users=_users("MEMBERSHIP_STATUS"),
    tiers=("free", "member", "vip"),
    tier_probs=(0.6, 0.3, 0.1),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (CUSTOM, ECOMMERCE, VIDEO_ON_DEMAND)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}") from None
