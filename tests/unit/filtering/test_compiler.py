"""Semantics of evaluation, on a tiny catalogue whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering import (
    CategoricalColumn,
    DictIndex,
    FilterData,
    NumericColumn,
    Schemas,
    bind,
    compile_mask,
    evaluate,
    parse,
    row_of,
    validate,
)
from openpersonalize.filtering.reference import reference_mask

ITEM_IDS = ["i0", "i1", "i2", "i3", "i4"]
ITEMS = {
    "GENRE": CategoricalColumn.from_rows(["comedy", "horror|comedy", "drama", None, "Comedy"]),
    "BRAND": CategoricalColumn.from_rows(["acme", "acme", "zeta", "zeta", None], separator=None),
    "PRICE": NumericColumn.from_rows([10.0, 20.0, 30.0, None, 5.0]),
    "CREATION_TIMESTAMP": NumericColumn.from_rows([1e9, 1.1e9, 1.2e9, 1.3e9, 1.4e9]),
}


def data(**kwargs: object) -> FilterData:
    base: dict[str, object] = {
        "n_candidates": len(ITEM_IDS),
        "attributes": ITEMS,
        "candidate_index": DictIndex.of(ITEM_IDS),
    }
    base.update(kwargs)
    return FilterData(**base)  # type: ignore[arg-type]


def keep(
    text: str, schemas: Schemas, values: dict[str, str] | None = None, **kwargs: object
) -> list[str]:
    validated = validate(parse(text), schemas)
    d = data(**kwargs)
    bound = bind(validated, values)
    mask = compile_mask(bound, d)
    assert mask.dtype == np.bool_ and mask.shape == (len(ITEM_IDS),)
    np.testing.assert_array_equal(mask, reference_mask(bound, d))
    return [i for i, k in zip(ITEM_IDS, mask, strict=True) if k]


def test_include_multi_valued_and_case_sensitive(schemas: Schemas) -> None:
    text = "INCLUDE ItemID WHERE Items.GENRE IN ($G)"
    assert keep(text, schemas, {"G": '"comedy"'}) == ["i0", "i1"]
    assert keep(text, schemas, {"G": '"Comedy","drama"'}) == ["i2", "i4"]


def test_not_in_keeps_missing_values(schemas: Schemas) -> None:
    assert keep('INCLUDE ItemID WHERE Items.GENRE NOT IN ("comedy")', schemas) == [
        "i2",
        "i3",
        "i4",
    ]


def test_numeric_comparisons_and_missing_numbers(schemas: Schemas) -> None:
    assert keep("INCLUDE ItemID WHERE Items.PRICE <= $P", schemas, {"P": "20"}) == [
        "i0",
        "i1",
        "i4",
    ]
    assert keep("INCLUDE ItemID WHERE Items.PRICE >= $P", schemas, {"P": '"20"'}) == ["i1", "i2"]
    assert keep("INCLUDE ItemID WHERE Items.PRICE != 10", schemas) == ["i1", "i2", "i3", "i4"]
    assert keep("INCLUDE ItemID WHERE Items.PRICE IN (5, 30)", schemas) == ["i2", "i4"]
    assert keep("INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP < $D", schemas, {"D": "1.2e9"}) == [
        "i0",
        "i1",
    ]


def test_and_or_precedence(schemas: Schemas) -> None:
    text = (
        'INCLUDE ItemID WHERE Items.BRAND = "zeta" AND Items.PRICE > 25 '
        'OR Items.GENRE IN ("Comedy")'
    )
    assert keep(text, schemas) == ["i2", "i4"]


def test_chaining_is_includes_minus_excludes(schemas: Schemas) -> None:
    text = (
        'INCLUDE ItemID WHERE Items.BRAND IN ("acme") | INCLUDE ItemID WHERE Items.PRICE < 6 | '
        'EXCLUDE ItemID WHERE Items.GENRE IN ("horror")'
    )
    assert keep(text, schemas) == ["i0", "i4"]


def test_exclude_with_missing_parameter_is_skipped(schemas: Schemas) -> None:
    text = "INCLUDE ItemID WHERE Items.PRICE < 25 | EXCLUDE ItemID WHERE Items.GENRE IN ($G)"
    assert keep(text, schemas, {}) == ["i0", "i1", "i4"]
    assert keep(text, schemas, {"G": '"horror"'}) == ["i0", "i4"]
    assert bind(validate(parse(text), schemas), {}).skipped == (1,)


def test_include_with_missing_parameter_is_an_error(schemas: Schemas) -> None:
    validated = validate(parse("INCLUDE ItemID WHERE Items.GENRE IN ($G)"), schemas)
    with pytest.raises(InvalidInputException, match="needs filterValues for G"):
        bind(validated, {"OTHER": '"x"'})
    with pytest.raises(InvalidInputException, match="needs filterValues for G"):
        bind(validated, {"G": ""})


def test_bad_values_are_errors(schemas: Schemas) -> None:
    validated = validate(parse("INCLUDE ItemID WHERE Items.PRICE < $P"), schemas)
    with pytest.raises(InvalidInputException, match="not a number"):
        bind(validated, {"P": '"cheap"'})
    with pytest.raises(InvalidInputException, match="exactly one value"):
        bind(validated, {"P": "1, 2"})


def test_interactions_use_the_users_recent_history(schemas: Schemas) -> None:
    text = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
    history = [("Purchase", "i1"), ("click", "i2"), ("PURCHASE", "unknown-item")]
    assert keep(text, schemas, events=history) == ["i0", "i2", "i3", "i4"]
    # A PutEvents purchase that has just arrived counts at once.
    assert keep(text, schemas, events=[*history, ("purchase", "i4")]) == ["i0", "i2", "i3"]
    # Only the latest history_depth events of each type count.
    assert keep(text, schemas, events=history, history_depth=0) == ITEM_IDS
    many = [("purchase", "i0"), *[("purchase", "i1")] * 3, ("click", "i2")]
    assert keep(text, schemas, events=many, history_depth=3) == ["i0", "i2", "i3", "i4"]


def test_interactions_wildcard_and_not_in(schemas: Schemas) -> None:
    events = [("click", "i0"), ("purchase", "i1"), ("click", "i1")]
    assert keep("INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (*)", schemas, events=events) == [
        "i0",
        "i1",
    ]
    assert keep(
        'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', schemas, events=events
    ) == ["i0", "i1"]
    # "some interaction whose type is not click"
    text = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("click")'
    assert keep(text, schemas, events=events) == ["i1"]


def test_if_current_user(schemas: Schemas) -> None:
    text = 'EXCLUDE ItemID WHERE Items.GENRE IN ("horror") IF CurrentUser.AGE < $AGE'
    adult = {"AGE": 30.0, "MEMBERSHIP_STATUS": ("gold",)}
    child = {"AGE": 10.0}
    assert keep(text, schemas, {"AGE": "18"}, current_user=child) == ["i0", "i2", "i3", "i4"]
    assert keep(text, schemas, {"AGE": "18"}, current_user=adult) == ITEM_IDS
    # Unknown user: the IF condition is false, the expression does not apply.
    assert keep(text, schemas, {"AGE": "18"}) == ITEM_IDS
    text = 'INCLUDE ItemID WHERE Items.PRICE > 25 IF CurrentUser.MEMBERSHIP_STATUS IN ("gold")'
    assert keep(text, schemas, current_user=adult) == ["i2"]
    assert keep(text, schemas, current_user=child) == ITEM_IDS


def test_current_item(schemas: Schemas) -> None:
    text = (
        "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE"
    )
    assert keep(text, schemas, current_item=row_of(ITEMS, 1)) == ["i0"]
    assert keep(text, schemas, current_item=row_of(ITEMS, 3)) == []
    assert keep(text, schemas) == []


def test_absent_column_counts_as_missing(schemas: Schemas) -> None:
    assert keep("INCLUDE ItemID WHERE Items.STOCK > 1", schemas) == []
    assert keep("INCLUDE ItemID WHERE Items.STOCK != 1", schemas) == ITEM_IDS
    assert keep('INCLUDE ItemID WHERE Items.CATEGORY IN ("x")', schemas) == []


def test_action_filters(schemas: Schemas) -> None:
    actions = {
        "CATEGORY": CategoricalColumn.from_rows(["a", "b", "a|c"]),
        "VALUE": NumericColumn.from_rows([1, 5, 9]),
    }
    d = FilterData(
        3,
        actions,
        DictIndex.of(["a0", "a1", "a2"]),
        events=[("Not Taken", "a1")],
    )
    text = (
        'EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("NOT_TAKEN") | '
        "INCLUDE ActionID WHERE Actions.VALUE > ($V)"
    )
    mask = evaluate(validate(parse(text), schemas), {"V": "2"}, d)
    assert mask.tolist() == [False, False, True]


def test_user_segments(schemas: Schemas) -> None:
    users = {
        "AGE": NumericColumn.from_rows([15, 40, None]),
        "MEMBERSHIP_STATUS": CategoricalColumn.from_rows(["gold", "silver", "gold"]),
    }
    d = FilterData(
        3, users, candidate_event_types=CategoricalColumn.from_rows(["click|rating", "", "Click"])
    )
    text = (
        "INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($M) | EXCLUDE UserID WHERE Users.AGE < 18"
    )
    assert evaluate(validate(parse(text), schemas), {"M": '"gold"'}, d).tolist() == [
        False,
        False,
        True,
    ]
    text = 'INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click")'
    assert evaluate(validate(parse(text), schemas), None, d).tolist() == [True, False, True]


def test_misaligned_data_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="rows"):
        FilterData(2, {"PRICE": NumericColumn.from_rows([1.0])})
