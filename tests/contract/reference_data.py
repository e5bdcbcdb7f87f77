"""The reference data sets in ``../shared/data`` as the contract tests import them: the files and
their schemas.

retail's schemas come in two variants: :data:`SCHEMAS` (the import and recipe tests) and, for the
ECOMMERCE workflows, ``retail_schemas("CATEGORY_L2", "GENDER")``, which marks two more columns
categorical.
"""

from __future__ import annotations

from typing import Any

from tests.schemas import BASIC_INTERACTIONS, avro

FILES = {
    "poc": {
        "Interactions": "personalize-poc/interactions.csv",
        "Items": "personalize-poc/item-meta.csv",
    },
    "retail": {
        "Interactions": "retail/interactions.csv.gz",
        "Items": "retail/items.csv",
        "Users": "retail/users.csv",
    },
}

# The columns of retail's files, in the files' order.
RETAIL_FIELDS: dict[str, list[tuple[str, Any]]] = {
    "Interactions": [
        ("ITEM_ID", "string"),
        ("USER_ID", "string"),
        ("EVENT_TYPE", "string"),
        ("TIMESTAMP", "long"),
        ("DISCOUNT", ["null", "string"]),
    ],
    "Items": [
        ("ITEM_ID", "string"),
        ("PRICE", "float"),
        ("CATEGORY_L1", "string"),
        ("CATEGORY_L2", ["null", "string"]),
        ("PRODUCT_NAME", "string"),
        ("PRODUCT_DESCRIPTION", ["null", "string"]),
        ("GENDER", ["null", "string"]),
        ("PROMOTED", ["null", "string"]),
    ],
    "Users": [("USER_ID", "string"), ("AGE", "int"), ("GENDER", "string")],
}


def retail_schemas(*categorical: str) -> dict[str, str]:
    """retail's schemas by dataset type: DISCOUNT and CATEGORY_L1 categorical, PRODUCT_DESCRIPTION
    textual, and the ``categorical`` columns categorical in every dataset that has them."""
    attrs: dict[str, dict[str, Any]] = {
        "DISCOUNT": {"categorical": True},
        "CATEGORY_L1": {"categorical": True},
        "PRODUCT_DESCRIPTION": {"textual": True},
    }
    attrs |= {name: {"categorical": True} for name in categorical}
    return {kind: avro(kind, fields, **attrs) for kind, fields in RETAIL_FIELDS.items()}


SCHEMAS = {
    "poc": {
        "Interactions": BASIC_INTERACTIONS,
        "Items": avro(
            "Items",
            [("ITEM_ID", "string"), ("GENRE", "string"), ("YEAR", ["null", "string"])],
            GENRE={"categorical": True},
        ),
    },
    "retail": retail_schemas(),
}
