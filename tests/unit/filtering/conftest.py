"""A dataset group's schemas used by the filtering tests."""

from __future__ import annotations

import pytest

from openpersonalize.filtering import ColumnInfo, Dataset, Schemas

SCHEMAS: Schemas = {
    Dataset.INTERACTIONS: {
        "USER_ID": ColumnInfo("string"),
        "ITEM_ID": ColumnInfo("string"),
        "TIMESTAMP": ColumnInfo("long"),
        "EVENT_TYPE": ColumnInfo("string"),
        "EVENT_VALUE": ColumnInfo("float"),
    },
    Dataset.ITEMS: {
        "ITEM_ID": ColumnInfo("string"),
        "GENRE": ColumnInfo("string", categorical=True),
        "GENRES": ColumnInfo("string", categorical=True),
        "CATEGORY": ColumnInfo("string", categorical=True),
        "CATEGORY_L1": ColumnInfo("string", categorical=True),
        "CATEGORY_L2": ColumnInfo("string", categorical=True),
        "BRAND": ColumnInfo("string"),
        "PRICE": ColumnInfo("float"),
        "STOCK": ColumnInfo("int"),
        "CREATION_TIMESTAMP": ColumnInfo("long"),
        "DESCRIPTION": ColumnInfo("string", textual=True),
        "IS_NEW": ColumnInfo("boolean"),
    },
    Dataset.USERS: {
        "USER_ID": ColumnInfo("string"),
        "AGE": ColumnInfo("int"),
        "MEMBERSHIP_STATUS": ColumnInfo("string", categorical=True),
    },
    Dataset.ACTIONS: {
        "ACTION_ID": ColumnInfo("string"),
        "CATEGORY": ColumnInfo("string", categorical=True),
        "VALUE": ColumnInfo("long"),
    },
    Dataset.ACTION_INTERACTIONS: {
        "USER_ID": ColumnInfo("string"),
        "ACTION_ID": ColumnInfo("string"),
        "EVENT_TYPE": ColumnInfo("string"),
        "TIMESTAMP": ColumnInfo("long"),
    },
}


@pytest.fixture
def schemas() -> Schemas:
    return SCHEMAS
