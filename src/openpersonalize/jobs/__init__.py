"""Durable jobs: rows in the metadata store, claimed atomically by worker processes."""

from __future__ import annotations

import importlib

# Modules that register job functions with ``runner.job`` when imported. A module that is not
# there (yet) is skipped: its job kinds then fail with "not built yet".
JOB_MODULES = (
    "campaigns",
    "imports",
    "exports",
    "deletions",
    "training",
    "recommender_jobs",
    "autotrain",
    "attribution",  # metric attribution's import hook
    "batch_inference",
    "batch_segments",
)


def load_job_modules() -> None:
    for name in JOB_MODULES:
        qualified = f"{__name__}.{name}"
        try:
            importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
