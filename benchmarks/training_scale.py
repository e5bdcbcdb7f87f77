"""Training at scale: synthetic interactions → build_training_data → train → evaluate.

    python -m benchmarks training_scale [--interactions 10000000] [--users N] [--items N]
        [--recipe aws-user-personalization] [--preset video_on_demand] [--seed 0] [--poc]

Generates ``--interactions`` rows with the synthetic generator (default 10 M interactions,
200k users, 50k items), builds the :class:`TrainingData` as the training job does, trains the
recipe on the Personalize split's training users, evaluates the held-out users with the
Personalize metrics and prints seconds per phase and the peak RSS (``resource.getrusage``).
Target (issue 4, item 8): 10 M interactions in under 5 minutes within 8 GiB on 2 cores.
``--poc`` also times training on ``../shared/data/personalize-poc`` (target: under 10 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import pyarrow as pa

from openpersonalize.datasets import generate
from openpersonalize.engine.evaluate import evaluate_model
from openpersonalize.engine.recipes import get_recipe
from openpersonalize.engine.split import personalize_split
from openpersonalize.engine.training_data import MinimumData, build_training_data


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run_poc(recipe: str) -> None:
    from benchmarks._loaders import SHARED_DATA, load_personalize_poc

    if not (SHARED_DATA / "personalize-poc").exists():
        print("personalize-poc: data not found, skipped")
        return
    data = load_personalize_poc()
    split = personalize_split(data, 42)
    cls = get_recipe(recipe)
    t0 = time.perf_counter()
    model = cls.train(split.train, {}, np.random.default_rng([42, 2]))
    train_s = time.perf_counter() - t0
    metrics = evaluate_model(model, split.test, data.n_items)
    print(
        f"personalize-poc: {data.n_interactions:,} interactions, train {train_s:.2f} s "
        f"(target < 10 s), NDCG@10 {metrics['normalized_discounted_cumulative_gain_at_10']:.4f}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks training_scale")
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=0, help="default: interactions / 50")
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--recipe", default="aws-user-personalization")
    parser.add_argument("--preset", default="video_on_demand")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--poc", action="store_true", help="also time personalize-poc")
    args = parser.parse_args(argv)
    n_users = args.users or max(100, args.interactions // 50)
    load = os.getloadavg()
    print(
        f"training_scale: {args.recipe}, {args.preset}, {args.interactions:,} interactions, "
        f"{n_users:,} users, {args.items:,} items, seed {args.seed}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs"
    )
    phases: dict[str, float] = {}

    t0 = time.perf_counter()
    dataset = generate(
        args.preset,
        n_users=n_users,
        n_items=args.items,
        n_interactions=args.interactions,
        seed=args.seed,
    )
    interactions = pa.Table.from_batches(list(dataset.interactions()))
    phases["generate"] = time.perf_counter() - t0
    print(
        f"  generate  {phases['generate']:8.1f} s   peak RSS {peak_rss_mib():8.0f} MiB", flush=True
    )

    t0 = time.perf_counter()
    data = build_training_data(interactions, minimums=MinimumData())
    del interactions
    phases["build"] = time.perf_counter() - t0
    print(f"  build     {phases['build']:8.1f} s   peak RSS {peak_rss_mib():8.0f} MiB", flush=True)

    t0 = time.perf_counter()
    split = personalize_split(data, np.random.default_rng([args.seed, 0]))
    cls = get_recipe(args.recipe)
    model = cls.train(split.train, {}, np.random.default_rng([args.seed, 1]))
    phases["train"] = time.perf_counter() - t0
    print(f"  train     {phases['train']:8.1f} s   peak RSS {peak_rss_mib():8.0f} MiB", flush=True)

    t0 = time.perf_counter()
    metrics = evaluate_model(model, split.test, data.n_items)
    phases["evaluate"] = time.perf_counter() - t0
    print(
        f"  evaluate  {phases['evaluate']:8.1f} s   peak RSS {peak_rss_mib():8.0f} MiB", flush=True
    )

    total = sum(phases.values())
    print(
        f"  total     {total:8.1f} s (build+train+evaluate "
        f"{phases['build'] + phases['train'] + phases['evaluate']:.1f} s); "
        f"peak RSS {peak_rss_mib():.0f} MiB; {len(split.test):,} test users; "
        f"NDCG@10 {metrics['normalized_discounted_cumulative_gain_at_10']:.4f}, "
        f"precision@10 {metrics['precision_at_10']:.4f}, "
        f"MRR@25 {metrics['mean_reciprocal_rank_at_25']:.4f}, coverage {metrics['coverage']:.4f}"
    )
    if args.poc:
        _run_poc(args.recipe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
