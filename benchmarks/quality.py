"""Quality benchmark: every recipe vs. popularity, implicit ALS and implicit BPR (DESIGN §8).

All models are trained in this process on the same Personalize split (spec §4.1) of each data set
and evaluated with the Personalize metrics. Baselines are tuned on a validation split carved from
the training users (never the test users), including whether to exclude already-seen items.

    python -m benchmarks quality [--datasets personalize-poc,retail] [--recipes aws-...]

Writes docs/benchmarks/quality.md and prints the same table.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

# implicit runs its own OpenMP threads: two for two cores. BLAS threads would fight them, so
# implicit's calls run under threadpool_limits(1, "blas"); our recipes keep BLAS threading.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from benchmarks._loaders import (
    SHARED_DATA,
    load_personalize_poc,
    load_retail,
    load_synthetic,
)
from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import (
    FloatArray,
    History,
    JsonDict,
    Model,
    TrainingData,
)
from openpersonalize.engine.evaluate import evaluate_model
from openpersonalize.engine.split import personalize_split, validation_split

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "quality.md"
SEED = 42
SCORED_TYPES = ("USER_PERSONALIZATION", "PERSONALIZED_RANKING", "POPULAR_ITEMS", "RELATED_ITEMS")


# ---------------------------------------------------------------------------------------------
# Baselines as Models, so that they go through exactly the same evaluation code


def _history_matrix(histories: Sequence[History], n_items: int) -> sp.csr_matrix:
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate([h.item_idx for h in histories]) if histories else np.zeros(0, np.int64)
    m = sp.csr_matrix(
        (np.ones(rows.shape[0], dtype=np.float32), (rows, cols)), shape=(len(histories), n_items)
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _user_items(data: TrainingData) -> sp.csr_matrix:
    m = sp.csr_matrix(
        (np.ones(data.n_interactions, dtype=np.float32), (data.user_idx, data.item_idx)),
        shape=(data.n_users, data.n_items),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


class _Baseline(Model):
    recipe_type: ClassVar[str] = "USER_PERSONALIZATION"
    exclude_seen: bool = False

    def _mask_seen(self, histories: Sequence[History], scores: FloatArray) -> FloatArray:
        if self.exclude_seen:
            for row, h in enumerate(histories):
                scores[row, h.item_idx] = -np.inf
        return scores

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        raise NotImplementedError

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> Model:
        raise NotImplementedError


class Popularity(_Baseline):
    recipe_name: ClassVar[str] = "baseline-popularity"

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> Popularity:
        model = cls(data.items, data.users)
        model.counts = np.bincount(data.item_idx, minlength=data.n_items).astype(np.float32)
        model.exclude_seen = hyperparameters.get("exclude_seen") == "true"
        return model

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        scores = np.tile(self.counts, (len(histories), 1))
        return self._mask_seen(histories, scores)


class ImplicitALS(_Baseline):
    recipe_name: ClassVar[str] = "baseline-implicit-als"

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> ImplicitALS:
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(limits=1, user_api="blas"):
            als = AlternatingLeastSquares(
                factors=int(hyperparameters.get("factors", "64")),
                regularization=float(hyperparameters.get("regularization", "0.05")),
                alpha=float(hyperparameters.get("alpha", "1.0")),
                iterations=15,
                random_state=int(rng.integers(2**31)),
            )
            als.fit(_user_items(data), show_progress=False)
        model = cls(data.items, data.users)
        model.als = als
        model.exclude_seen = hyperparameters.get("exclude_seen") == "true"
        return model

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        m = _history_matrix(histories, len(self.items))
        with threadpool_limits(limits=1, user_api="blas"):
            factors = np.asarray(self.als.recalculate_user(np.arange(len(histories)), m))
        scores = (factors.reshape(len(histories), -1) @ self.als.item_factors.T).astype(np.float32)
        return self._mask_seen(histories, scores)


class ImplicitBPR(_Baseline):
    recipe_name: ClassVar[str] = "baseline-implicit-bpr"

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> ImplicitBPR:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        bpr = BayesianPersonalizedRanking(
            factors=int(hyperparameters.get("factors", "64")),
            learning_rate=float(hyperparameters.get("learning_rate", "0.05")),
            regularization=0.01,
            iterations=int(hyperparameters.get("iterations", "100")),
            random_state=int(rng.integers(2**31)),
        )
        with threadpool_limits(limits=1, user_api="blas"):
            bpr.fit(_user_items(data), show_progress=False)
        model = cls(data.items, data.users)
        model.item_factors = np.asarray(bpr.item_factors, dtype=np.float32)
        model.exclude_seen = hyperparameters.get("exclude_seen") == "true"
        return model

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        # Fold-in: a user is the mean of their items' factors (the last column is the item bias).
        y = self.item_factors
        users = np.zeros((len(histories), y.shape[1]), dtype=np.float32)
        for row, h in enumerate(histories):
            if len(h):
                users[row] = y[np.unique(h.item_idx)].mean(axis=0)
        users[:, -1] = 1.0
        return self._mask_seen(histories, (users @ y.T).astype(np.float32))


BASELINE_GRIDS: dict[type[Model], dict[str, tuple[str, ...]]] = {
    Popularity: {"exclude_seen": ("false", "true")},
    ImplicitALS: {
        "factors": ("64", "128"),
        "regularization": ("0.01", "0.1"),
        "alpha": ("1.0", "10.0"),
        "exclude_seen": ("false", "true"),
    },
    ImplicitBPR: {
        "factors": ("64", "128"),
        "learning_rate": ("0.01", "0.05"),
        "exclude_seen": ("false", "true"),
    },
}


def average(runs: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Mean of every numeric column over seeds, row by row (same models in the same order)."""
    out: list[dict[str, Any]] = []
    for rows in zip(*runs, strict=True):
        merged: dict[str, Any] = {"model": rows[0]["model"], "note": rows[-1]["note"]}
        for key, value in rows[0].items():
            if isinstance(value, float) and all(key in r for r in rows):
                merged[key] = float(np.mean([r[key] for r in rows]))
        out.append(merged)
    return out


def tune(
    model_cls: type[Model], data: TrainingData, grid: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """Best grid point by NDCG@10 on a validation split of ``data`` (training users only)."""
    val = validation_split(data, SEED)
    best: tuple[float, dict[str, str]] = (-1.0, {})
    # exclude_seen only changes scoring: train once per other setting.
    other = {k: v for k, v in grid.items() if k != "exclude_seen"}
    for values in itertools.product(*other.values()):
        hp = dict(zip(other, values, strict=True))
        model = model_cls.train(val.train, hp, np.random.default_rng(SEED))
        for exclude in grid.get("exclude_seen", ("false",)):
            model.exclude_seen = exclude == "true"  # type: ignore[attr-defined]
            ndcg = evaluate_model(model, val.test, data.n_items)[
                "normalized_discounted_cumulative_gain_at_10"
            ]
            if ndcg > best[0]:
                best = (ndcg, {**hp, "exclude_seen": exclude})
    return best[1]


# ---------------------------------------------------------------------------------------------


DATASETS: dict[str, Callable[[], TrainingData | None]] = {
    "personalize-poc": lambda: load_personalize_poc(SHARED_DATA),
    "retail": lambda: load_retail(SHARED_DATA),
    "synthetic": load_synthetic,
}


def recipe_classes(only: Sequence[str] | None = None) -> list[type[Model]]:
    try:
        from openpersonalize.engine.recipes import available_recipes, get_recipe

        classes = [get_recipe(name) for name in available_recipes()]
    except ImportError:
        from openpersonalize.engine.recipes.user_personalization import UserPersonalization

        classes = [UserPersonalization]
    classes = [c for c in classes if c.recipe_type in SCORED_TYPES]
    if only:
        classes = [c for c in classes if c.recipe_name in only]
    return classes


def _row(name: str, metrics: Mapping[str, float], seconds: float, note: str = "") -> dict[str, Any]:
    return {"model": name, "seconds": seconds, "note": note, **metrics}


def run_dataset(
    data: TrainingData, recipes: Sequence[type[Model]], seed: int = SEED
) -> list[dict[str, Any]]:
    split = personalize_split(data, seed)
    rows: list[dict[str, Any]] = []
    for model_cls in recipes:
        t0 = time.perf_counter()
        try:
            model = model_cls.train(split.train, {}, np.random.default_rng(SEED))
        except Exception as exc:  # a recipe that cannot train on this data is reported, not fatal
            rows.append(_row(model_cls.recipe_name, {}, 0.0, f"failed: {exc}"[:80]))
            continue
        seconds = time.perf_counter() - t0
        rows.append(
            _row(model_cls.recipe_name, evaluate_model(model, split.test, data.n_items), seconds)
        )
    for baseline, grid in BASELINE_GRIDS.items():
        t0 = time.perf_counter()
        hp = tune(baseline, split.train, grid)
        tuning = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = baseline.train(split.train, hp, np.random.default_rng(SEED))
        seconds = time.perf_counter() - t0
        note = ", ".join(f"{k}={v}" for k, v in hp.items()) + f"; tuning {tuning:.0f}s"
        rows.append(
            _row(
                baseline.recipe_name, evaluate_model(model, split.test, data.n_items), seconds, note
            )
        )
    return rows


def to_markdown(results: Mapping[str, tuple[TrainingData, list[dict[str, Any]]]]) -> str:
    lines = [
        "# Quality benchmark",
        "",
        "Personalize split (10 % of users held out; their oldest 90 % of events are the input, the",
        "newest 10 % the truth), metrics averaged over split seeds 0, 1, 2; top 25 over the whole",
        "catalogue, no items excluded unless a baseline's validation tuning chose to exclude seen",
        "items. Baselines are tuned on a validation split of the training users. Training seconds",
        "are wall-clock on this machine (2 cores shared with other work).",
        "Generated by `python -m benchmarks quality`.",
        "",
    ]
    for dataset, (data, rows) in results.items():
        lines += [
            f"## {dataset} ({data.n_users:,} users, {data.n_items:,} items, "
            f"{data.n_interactions:,} interactions)",
            "",
            "| model | NDCG@10 | precision@10 | MRR@25 | coverage | train s | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            if "normalized_discounted_cumulative_gain_at_10" not in r:
                lines.append(f"| {r['model']} | – | – | – | – | – | {r['note']} |")
                continue
            lines.append(
                f"| {r['model']} | {r['normalized_discounted_cumulative_gain_at_10']:.4f} "
                f"| {r['precision_at_10']:.4f} | {r['mean_reciprocal_rank_at_25']:.4f} "
                f"| {r['coverage']:.4f} | {r['seconds']:.1f} | {r['note']} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks quality")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--recipes", default="", help="comma-separated recipe names (default all)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--seeds", default="0,1,2", help="split seeds; metrics are averaged")
    args = parser.parse_args(argv)
    recipes = recipe_classes([r for r in args.recipes.split(",") if r] or None)
    results: dict[str, tuple[TrainingData, list[dict[str, Any]]]] = {}
    for name in args.datasets.split(","):
        if name not in DATASETS:
            parser.error(f"unknown data set {name}")
        data = DATASETS[name]()
        if data is None:
            print(f"skipping {name}: not available")
            continue
        print(f"{name}: {data.n_interactions:,} interactions", flush=True)
        seeds = [int(x) for x in args.seeds.split(",")]
        results[name] = (data, average([run_dataset(data, recipes, seed) for seed in seeds]))
    text = to_markdown(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
