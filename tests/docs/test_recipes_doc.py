"""docs/recipes.md covers every recipe, and its generated tables are current."""

from __future__ import annotations

from openpersonalize.controlplane.catalog import RECIPES
from openpersonalize.engine.hyperparameters import RECIPE_HYPERPARAMETERS
from tests.docs.recipes_doc import RECIPES_MD, render, sections


def test_generated_tables_are_current() -> None:
    text = RECIPES_MD.read_text()
    assert render(text) == text, (
        "docs/recipes.md is stale (hyperparameters or docs/benchmarks/quality.md changed): "
        "regenerate it with `.venv/bin/python -m tests.docs.recipes_doc`"
    )


def test_every_custom_recipe_has_its_sections() -> None:
    present = set(sections(RECIPES_MD.read_text()))
    for recipe in RECIPES:
        if recipe.domain or recipe.legacy:
            continue
        assert ("hyperparameters", recipe.name) in present, f"{recipe.name}: no hyperparameters"
        assert f"## {recipe.name}" in RECIPES_MD.read_text(), f"{recipe.name}: no section"
    for kind, name in present:
        assert name in RECIPE_HYPERPARAMETERS, f"docs/recipes.md: unknown recipe {name} ({kind})"


def test_every_domain_use_case_is_listed() -> None:
    text = RECIPES_MD.read_text()
    for recipe in RECIPES:
        if recipe.domain:
            assert f"`{recipe.name}`" in text, f"{recipe.name} missing from docs/recipes.md"
