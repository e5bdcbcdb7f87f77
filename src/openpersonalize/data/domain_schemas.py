"""The default domain schemas (spec §3.2), as the Avro JSON text a console or CLI would offer.

Each one passes ``check_dataset_schema`` for its own domain and dataset type; a test keeps it so.
"""

from __future__ import annotations

import json
from typing import Any

from openpersonalize.data.schemas import (
    INTERACTIONS,
    ITEMS,
    USERS,
    normalize_dataset_type,
    normalize_domain,
)
from openpersonalize.errors import InvalidInputException

NAMESPACE = "com.amazonaws.personalize.schema"

_INTERACTION_FIELDS: list[dict[str, Any]] = [
    {"name": "USER_ID", "type": "string"},
    {"name": "ITEM_ID", "type": "string"},
    {"name": "EVENT_TYPE", "type": "string"},
    {"name": "TIMESTAMP", "type": "long"},
]

_FIELDS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("VIDEO_ON_DEMAND", INTERACTIONS): _INTERACTION_FIELDS,
    ("VIDEO_ON_DEMAND", ITEMS): [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRES", "type": ["string"], "categorical": True},
        {"name": "CREATION_TIMESTAMP", "type": "long"},
    ],
    ("VIDEO_ON_DEMAND", USERS): [
        {"name": "USER_ID", "type": "string"},
        {"name": "SUBSCRIPTION_MODEL", "type": ["string"], "categorical": True},
    ],
    ("ECOMMERCE", INTERACTIONS): _INTERACTION_FIELDS,
    ("ECOMMERCE", ITEMS): [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "PRICE", "type": "float"},
        {"name": "CATEGORY_L1", "type": ["string"], "categorical": True},
    ],
    ("ECOMMERCE", USERS): [
        {"name": "USER_ID", "type": "string"},
        {"name": "MEMBERSHIP_STATUS", "type": ["string"], "categorical": True},
    ],
}


def _render(dataset_type: str, fields: list[dict[str, Any]]) -> str:
    record = {
        "type": "record",
        "name": dataset_type,
        "namespace": NAMESPACE,
        "fields": fields,
        "version": "1.0",
    }
    return json.dumps(record, indent=2)


DEFAULT_DOMAIN_SCHEMAS: dict[tuple[str, str], str] = {
    key: _render(key[1], fields) for key, fields in _FIELDS.items()
}


def default_domain_schema(domain: str, dataset_type: str) -> str:
    """Avro JSON text of the default schema for ``domain`` (ECOMMERCE | VIDEO_ON_DEMAND)."""
    normalized = normalize_domain(domain)
    kind = normalize_dataset_type(dataset_type)
    text = DEFAULT_DOMAIN_SCHEMAS.get((normalized or "", kind))
    if text is None:
        raise InvalidInputException(
            f"There is no default {kind} schema for domain {domain!r}; domain dataset groups "
            "have Interactions, Items and Users datasets."
        )
    return text
