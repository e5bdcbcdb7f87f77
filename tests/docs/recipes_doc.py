"""The generated parts of docs/recipes.md: hyperparameter tables and benchmark rows.

``<!-- hyperparameters: RECIPE -->`` … ``<!-- end -->`` is filled from
:data:`openpersonalize.engine.hyperparameters.RECIPE_HYPERPARAMETERS`, and
``<!-- benchmarks: RECIPE -->`` … ``<!-- end -->`` from the tables of docs/benchmarks/quality.md.
``tests/docs/test_recipes_doc.py`` fails when the document is stale; regenerate with::

    .venv/bin/python -m tests.docs.recipes_doc
"""

from __future__ import annotations

import re

from openpersonalize.engine.hyperparameters import RECIPE_HYPERPARAMETERS, HyperParameter
from tests.docs.markdown import DOCS

RECIPES_MD = DOCS / "recipes.md"
QUALITY_MD = DOCS / "benchmarks" / "quality.md"
_SECTION = re.compile(
    r"(<!-- (hyperparameters|benchmarks): ([\w-]+) -->\n)(.*?)(<!-- end -->)", re.DOTALL
)


def _range(hp: HyperParameter) -> str:
    if hp.kind in ("bool", "categorical"):
        return ", ".join(f"`{v}`" for v in hp.values)

    def number(value: float | None) -> str:
        if value is None:
            return "∞"
        return str(int(value)) if hp.kind == "int" else repr(float(value))

    return f"[{number(hp.min_value)}, {number(hp.max_value)}]"


def hyperparameter_table(recipe: str) -> str:
    params = RECIPE_HYPERPARAMETERS[recipe]
    if not params:
        return "No hyperparameters.\n"
    lines = [
        "| name | where | type | default | range | HPO |",
        "|---|---|---|---|---|---|",
    ]
    for hp in params:
        where = (
            "featureTransformationParameters" if hp.featurization else "algorithmHyperParameters"
        )
        hpo = "only through HPO" if hp.hpo_only else ("yes" if hp.tunable else "no")
        lines.append(
            f"| `{hp.name}` | {where} | {hp.kind} | `{hp.default}` | {_range(hp)} | {hpo} |"
        )
    return "\n".join(lines) + "\n"


def benchmark_rows() -> dict[str, list[tuple[str, list[str]]]]:
    """Model → [(data set heading, the row's cells after the model name)]."""
    rows: dict[str, list[tuple[str, list[str]]]] = {}
    data_set = ""
    for line in QUALITY_MD.read_text().splitlines():
        if line.startswith("## "):
            data_set = line[3:].strip()
        elif line.startswith("| ") and data_set and not line.startswith("| model"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.setdefault(cells[0], []).append((data_set, cells[1:]))
    return rows


def benchmark_table(recipe: str) -> str:
    rows = benchmark_rows().get(recipe)
    if not rows:
        return "Not in the quality benchmark (it measures ranking on held-out users).\n"
    lines = [
        "| data set | NDCG@10 | precision@10 | MRR@25 | coverage | train s | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for data_set, cells in rows:
        lines.append("| " + " | ".join([data_set, *cells[:6]]) + " |")
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    def fill(match: re.Match[str]) -> str:
        kind, recipe = match.group(2), match.group(3)
        body = (
            hyperparameter_table(recipe) if kind == "hyperparameters" else benchmark_table(recipe)
        )
        return match.group(1) + body + match.group(5)

    return _SECTION.sub(fill, text)


def sections(text: str) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(3)) for m in _SECTION.finditer(text)]


if __name__ == "__main__":
    RECIPES_MD.write_text(render(RECIPES_MD.read_text()))
    print(f"regenerated {RECIPES_MD}")
