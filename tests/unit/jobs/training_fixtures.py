"""A dataset group with records, built through the control plane on a temporary data directory.

Jobs run in-process with :func:`run_jobs` (the worker's own ``run_one``), so tests see the same
status transitions a worker process makes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from openpersonalize.controlplane import OPERATIONS
from openpersonalize.controlplane.context import Context, make_context
from openpersonalize.datasets import small
from openpersonalize.jobs import load_job_modules, worker
from openpersonalize.settings import load_config

UPSERT_KEYS = {"Items": "ITEM_ID", "Users": "USER_ID"}


def make(tmp_path: Path, **settings: Any) -> Context:
    load_job_modules()
    values = {
        "data_dir": str(tmp_path),
        "min_interactions": 100,
        "min_users_with_two": 5,
        **settings,
    }
    return make_context(load_config(values, environ={}))


def call(ctx: Context, operation: str, **params: Any) -> dict[str, Any]:
    return OPERATIONS[operation](ctx, params)


def run_jobs(ctx: Context) -> int:
    ran = 0
    while worker.run_one(ctx, "test-worker"):
        ran += 1
    return ran


def add_dataset(
    ctx: Context,
    group_arn: str,
    dataset_type: str,
    schema: str,
    table: pa.Table | None,
    domain: str | None = None,
) -> str:
    name = f"{group_arn.rsplit('/', 1)[-1]}-{dataset_type.lower()}"
    extra = {"domain": domain} if domain else {}
    schema_arn = call(ctx, "CreateSchema", name=name, schema=schema, **extra)["schemaArn"]
    arn: str = call(
        ctx,
        "CreateDataset",
        name=name,
        datasetGroupArn=group_arn,
        datasetType=dataset_type,
        schemaArn=schema_arn,
    )["datasetArn"]
    if table is not None:
        put_records(ctx, arn, dataset_type, table)
    return arn


def put_records(ctx: Context, dataset_arn: str, dataset_type: str, table: pa.Table) -> None:
    ctx.records.replace_bulk(dataset_arn, [table], upsert_key=UPSERT_KEYS.get(dataset_type))


def make_group(
    ctx: Context,
    name: str,
    preset: str = "custom",
    *,
    n_users: int = 120,
    n_items: int = 80,
    n_interactions: int = 2400,
    with_items: bool = True,
    with_users: bool = True,
    domain: str | None = None,
    seed: int = 0,
) -> dict[str, str]:
    """A group with the preset's synthetic records; returns the ARNs by dataset type + group."""
    tables = small(preset, seed, n_users=n_users, n_items=n_items, n_interactions=n_interactions)
    params: dict[str, Any] = {"name": name}
    if domain:
        params["domain"] = domain
    group = call(ctx, "CreateDatasetGroup", **params)["datasetGroupArn"]
    arns = {"group": group}
    schemas = tables.schemas
    arns["Interactions"] = add_dataset(
        ctx, group, "Interactions", schemas["interactions"], tables.interactions, domain
    )
    if with_items:
        arns["Items"] = add_dataset(ctx, group, "Items", schemas["items"], tables.items, domain)
    if with_users:
        arns["Users"] = add_dataset(ctx, group, "Users", schemas["users"], tables.users, domain)
    return arns


def create_solution(ctx: Context, group: str, name: str, recipe: str, **params: Any) -> str:
    arn: str = call(
        ctx,
        "CreateSolution",
        name=name,
        datasetGroupArn=group,
        recipeArn=f"arn:aws:personalize:::recipe/{recipe}",
        **params,
    )["solutionArn"]
    return arn


def train(ctx: Context, solution_arn: str, **params: Any) -> dict[str, Any]:
    arn = call(ctx, "CreateSolutionVersion", solutionArn=solution_arn, **params)[
        "solutionVersionArn"
    ]
    run_jobs(ctx)
    return ctx.store.get(arn).body | {"status": ctx.store.get(arn).status, "arn": arn}
