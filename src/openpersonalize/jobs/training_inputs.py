"""What a training job reads: a dataset group's records and schemas, turned into TrainingData.

Shared by solution versions (:mod:`openpersonalize.jobs.training`) and domain recommenders
(:mod:`openpersonalize.jobs.recommender_jobs`). Records come from
:func:`openpersonalize.controlplane.dataset_records.read` — bulk imports, compacted real-time
records and the events still in the log — so a model sees every acknowledged PutEvents call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from openpersonalize.controlplane import dataset_records
from openpersonalize.controlplane.context import Context
from openpersonalize.engine.base import TrainingData
from openpersonalize.engine.training_data import (
    MinimumData,
    TrainingDataError,
    build_training_data,
)
from openpersonalize.jobs import runner

INTERACTIONS = "Interactions"
ITEMS = "Items"
USERS = "Users"
ACTIONS = "Actions"
ACTION_INTERACTIONS = "Action_Interactions"

# Datasets a recipe cannot train without (spec §2.2). Every other recipe needs Interactions only.
REQUIRED_DATASETS: dict[str, tuple[str, ...]] = {
    "aws-semantic-similarity": (ITEMS,),
    "aws-similar-items": (INTERACTIONS, ITEMS),
    "aws-item-attribute-affinity": (INTERACTIONS, ITEMS),
    "aws-next-best-action": (INTERACTIONS, ACTIONS),
}


@dataclass
class GroupData:
    """The records of one dataset group: tables and parsed Avro schemas by dataset type."""

    group_arn: str
    dataset_arns: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    def table(self, dataset_type: str) -> pa.Table | None:
        return self.tables.get(dataset_type)

    def schema(self, dataset_type: str) -> dict[str, Any] | None:
        return self.schemas.get(dataset_type)


def minimums(ctx: Context) -> MinimumData:
    return MinimumData(
        interactions=ctx.config.min_interactions,
        users_with_two_interactions=ctx.config.min_users_with_two,
    )


def group_datasets(ctx: Context, group_arn: str) -> dict[str, str]:
    """Dataset type (``Interactions`` …) → dataset ARN, for the live datasets of a group."""
    return {
        str(d.body["datasetType"]): d.arn for d in dataset_records.datasets_of_group(ctx, group_arn)
    }


def interactions_fingerprint(ctx: Context, group_arn: str) -> int:
    """Rows stored for the group's Interactions dataset (bulk + compacted real-time records).

    Cheap (manifest only). Auto-training compares it with the value recorded at the last training
    to decide whether new interaction data arrived.
    """
    arn = group_datasets(ctx, group_arn).get(INTERACTIONS)
    return ctx.records.count(arn) if arn else 0


def data_fingerprint(ctx: Context, group_arn: str) -> dict[str, int]:
    """Rows stored per dataset type of the group (Interactions, Items, Users): new data or new
    items change it. Recorded by recommender trainings for the scheduled refreshes."""
    return {
        dataset_type: ctx.records.count(arn)
        for dataset_type, arn in sorted(group_datasets(ctx, group_arn).items())
    }


def check_required(recipe_name: str, available: Mapping[str, str], group_arn: str) -> None:
    for dataset_type in REQUIRED_DATASETS.get(recipe_name, (INTERACTIONS,)):
        if dataset_type not in available:
            raise runner.JobFailed(
                f"Recipe {recipe_name} needs an {dataset_type} dataset, and dataset group "
                f"{group_arn} has none. Create the dataset and import data into it first."
            )


def read_group(ctx: Context, group_arn: str, wanted: tuple[str, ...]) -> GroupData:
    """Read the ``wanted`` dataset types the group has (missing ones are simply absent)."""
    data = GroupData(group_arn, group_datasets(ctx, group_arn))
    for dataset_type in wanted:
        arn = data.dataset_arns.get(dataset_type)
        if arn is None:
            continue
        dataset = ctx.store.get(arn)
        schema = ctx.store.get(str(dataset.body["schemaArn"]))
        data.schemas[dataset_type] = json.loads(schema.body["schema"])
        data.tables[dataset_type] = dataset_records.read(ctx, arn)
    return data


def empty_interactions() -> pa.Table:
    return pa.table(
        {
            "USER_ID": pa.array([], pa.string()),
            "ITEM_ID": pa.array([], pa.string()),
            "TIMESTAMP": pa.array([], pa.int64()),
        }
    )


def build(
    ctx: Context,
    group: GroupData,
    *,
    event_type: str | None = None,
    event_value_threshold: str | None = None,
    events_config: Mapping[str, Any] | None = None,
    training_data_config: Mapping[str, Any] | None = None,
    check_minimums: bool = True,
) -> TrainingData:
    """TrainingData of the group with the solution's / use case's options; AWS's minimum-data
    messages become the job's failureReason."""
    interactions = group.table(INTERACTIONS)
    try:
        return build_training_data(
            interactions if interactions is not None else empty_interactions(),
            group.table(ITEMS),
            group.table(USERS),
            items_schema=group.schema(ITEMS),
            users_schema=group.schema(USERS),
            event_type=event_type,
            event_value_threshold=event_value_threshold,
            events_config=events_config,
            training_data_config=training_data_config,
            minimums=minimums(ctx) if check_minimums else None,
        )
    except TrainingDataError as exc:
        raise runner.JobFailed(exc.message) from None


def attach_actions(data: TrainingData, group: GroupData) -> TrainingData:
    """``data`` with the group's Actions and Action_Interactions (aws-next-best-action)."""
    from openpersonalize.engine.action_data import build_action_data

    actions = group.table(ACTIONS)
    if actions is None:
        return data
    data.actions = build_action_data(actions, group.table(ACTION_INTERACTIONS))
    return data
