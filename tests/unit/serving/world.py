"""A small in-process dataset group with known answers, for the serving unit tests.

40 items ``i0`` … ``i39`` (GENRE cycles comedy/drama/horror/action, every tenth item is also
"drama"; YEAR 1990 + i; i35–i39 were created at the very end and have no interactions), 60 users
``u0`` … ``u59`` with 12 interactions each on items i0–i34 (``click``, every third ``purchase``).
Models are trained in-process and saved as the training job would save them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from openpersonalize.controlplane import OPERATIONS, lifecycle
from openpersonalize.controlplane.context import Context, make_context
from openpersonalize.engine.artifacts import save_model
from openpersonalize.engine.recipes import get_recipe
from openpersonalize.engine.training_data import build_training_data
from openpersonalize.jobs import runner
from openpersonalize.settings import load_config
from tests.schemas import INTERACTION_FIELDS, record

T0 = 1_700_000_000
N_USERS, N_ITEMS, N_WARM = 60, 40, 35
GENRES = ("comedy", "drama", "horror", "action")

INTERACTIONS = record("Interactions", INTERACTION_FIELDS)
ITEMS = record(
    "Items",
    [
        ("ITEM_ID", "string"),
        ("GENRE", ["null", "string"]),
        ("YEAR", ["null", "int"]),
        ("CREATION_TIMESTAMP", "long"),
    ],
    GENRE={"categorical": True},
)
USERS = record(
    "Users", [("USER_ID", "string"), ("TIER", ["null", "string"])], TIER={"categorical": True}
)


def genre(i: int) -> str:
    g = GENRES[i % 4]
    return f"{g}|drama" if i % 10 == 0 and g != "drama" else g


def interactions_table() -> pa.Table:
    rng = np.random.default_rng(0)
    users, items, times, types = [], [], [], []
    for u in range(N_USERS):
        for k in range(12):
            users.append(f"u{u}")
            items.append(f"i{(u * 3 + int(rng.integers(0, 8))) % N_WARM}")
            times.append(T0 + u * 100 + k)
            types.append("purchase" if k % 3 == 0 else "click")
    return pa.table(
        {
            "USER_ID": users,
            "ITEM_ID": items,
            "TIMESTAMP": pa.array(times, pa.int64()),
            "EVENT_TYPE": types,
        }
    )


def items_table() -> pa.Table:
    end = T0 + N_USERS * 100
    return pa.table(
        {
            "ITEM_ID": [f"i{i}" for i in range(N_ITEMS)],
            "GENRE": [genre(i) for i in range(N_ITEMS)],
            "YEAR": pa.array([1990 + i for i in range(N_ITEMS)], pa.int32()),
            "CREATION_TIMESTAMP": pa.array(
                [end if i >= N_WARM else T0 - 400 * 86_400 for i in range(N_ITEMS)], pa.int64()
            ),
        }
    )


def users_table() -> pa.Table:
    return pa.table(
        {
            "USER_ID": [f"u{u}" for u in range(N_USERS)],
            "TIER": ["gold" if u % 2 else "free" for u in range(N_USERS)],
        }
    )


class World:
    def __init__(self, root: Path) -> None:
        config = load_config(
            {"data_dir": str(root / "data"), "max_active_campaigns_per_dataset_group": 20},
            environ={},
        )
        self.ctx: Context = make_context(config)
        self.group = self.op("CreateDatasetGroup", name="g")["datasetGroupArn"]
        self.datasets: dict[str, str] = {}
        for kind, schema in (("Interactions", INTERACTIONS), ("Items", ITEMS), ("Users", USERS)):
            schema_arn = self.op("CreateSchema", name=f"s-{kind}", schema=json.dumps(schema))[
                "schemaArn"
            ]
            arn = self.op(
                "CreateDataset",
                name=f"d-{kind}",
                datasetGroupArn=self.group,
                datasetType=kind,
                schemaArn=schema_arn,
            )["datasetArn"]
            self.datasets[kind] = arn
        records = self.ctx.records
        records.replace_bulk(self.datasets["Interactions"], [interactions_table()])
        records.replace_bulk(self.datasets["Items"], [items_table()], upsert_key="ITEM_ID")
        records.replace_bulk(self.datasets["Users"], [users_table()], upsert_key="USER_ID")

    def op(self, operation: str, /, **params: Any) -> dict[str, Any]:
        return OPERATIONS[operation](self.ctx, params)

    def run_jobs(self, *kinds: str) -> None:
        while True:
            job = self.ctx.store.claim("test", 60, kinds)
            if job is None:
                return
            runner.run(self.ctx, job)

    def version(self, recipe: str, name: str | None = None) -> str:
        """An ACTIVE solution version of ``recipe``, trained here."""
        solution = self.op(
            "CreateSolution",
            name=name or recipe,
            datasetGroupArn=self.group,
            recipeArn=f"arn:aws:personalize:::recipe/{recipe}",
        )["solutionArn"]
        arn = self.op("CreateSolutionVersion", solutionArn=solution)["solutionVersionArn"]
        data = build_training_data(
            interactions_table(),
            items_table(),
            users_table(),
            items_schema=ITEMS,
            users_schema=USERS,
            minimums=None,
        )
        model = get_recipe(recipe).train(data, {}, np.random.default_rng(0))
        path = save_model(model, self.ctx.data_dir / "artifacts")
        self.ctx.store.update(
            arn,
            status=lifecycle.ACTIVE,
            body={"artifact": str(path.relative_to(self.ctx.data_dir))},
        )
        return arn

    def campaign(self, version: str, name: str, **extra: Any) -> str:
        arn = self.op("CreateCampaign", name=name, solutionVersionArn=version, **extra)[
            "campaignArn"
        ]
        self.run_jobs("campaign")
        return str(arn)

    def filter(self, name: str, expression: str) -> str:
        return str(
            self.op(
                "CreateFilter", name=name, datasetGroupArn=self.group, filterExpression=expression
            )["filterArn"]
        )
