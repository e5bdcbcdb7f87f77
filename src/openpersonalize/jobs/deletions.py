"""Data deletion jobs: remove users (a CSV with one ``USER_ID`` column, a file or a folder) from
every dataset of a dataset group.

The work is split between the two processes that own the data, because the real-time log belongs
to the server process (it holds the log's lock and its in-memory recent-history index):

1. The worker (``PENDING`` → ``IN_PROGRESS``) reads the user list, deletes the users' records from
   the record store of every dataset with a ``USER_ID`` column (bulk and compacted real-time
   segments: the heavy part), and leaves the list in ``<data_dir>/deletions/<job>.json``, named in
   the job's ``pendingLogDeletion``.
2. The server's scheduler (:func:`finish_log_deletions`) finds such jobs, compacts each dataset's
   log and deletes the users again — which now covers the records that were still in the log,
   plus anything they sent meanwhile — drops them from the recent-history index, then sets
   ``numDeleted`` and ``COMPLETED``. If the server is down, step 2 runs when it starts again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pyarrow.compute as pc

from openpersonalize.controlplane import dataset_records, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.data.csv_import import CsvImportError, iter_csv_batches
from openpersonalize.data.schemas import AvroSchema, SchemaField
from openpersonalize.jobs import runner
from openpersonalize.jobs.scheduler import every
from openpersonalize.jobs.sources import display_name, input_objects, local_copy
from openpersonalize.store.event_log import LogReader
from openpersonalize.store.metadata import Job

log = logging.getLogger("openpersonalize.jobs.deletions")
KIND = "data-deletion-job"
USERS_SCHEMA = AvroSchema("Users", (SchemaField("USER_ID", "string"),))


def read_user_ids(ctx: Context, url: str) -> list[str]:
    store, objects = input_objects(ctx, url)
    users: set[str] = set()
    for obj in objects:
        with local_copy(ctx, store, obj) as path:
            try:
                for batch in iter_csv_batches(path, USERS_SCHEMA, file_name=display_name(obj)):
                    users.update(pc.drop_null(batch.column(0)).to_pylist())
            except CsvImportError as exc:
                raise runner.JobFailed(f"Data deletion failed: {exc.failure_reason}") from None
    return sorted(users)


def _users_file(ctx: Context, arn: str) -> Path:
    name = hashlib.sha256(arn.encode()).hexdigest()[:32]
    return ctx.data_dir / "deletions" / f"{name}.json"


def _datasets_with_users(ctx: Context, group_arn: str) -> list[str]:
    arns = []
    for dataset in dataset_records.datasets_of_group(ctx, group_arn):
        spec = dataset_records.spec_for(ctx, dataset)
        if "USER_ID" in spec.schema:
            arns.append(dataset.arn)
    return arns


@runner.job(KIND)
def run_deletion(ctx: Context, job: Job) -> None:
    runner.start(ctx, job.arn)
    body = ctx.store.get(job.arn).body
    users = read_user_ids(ctx, body["dataSource"]["dataLocation"])
    removed = 0
    for dataset_arn in _datasets_with_users(ctx, body["datasetGroupArn"]):
        removed += ctx.records.delete_users(dataset_arn, users, user_column="USER_ID")
    path = _users_file(ctx, job.arn)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(users))
    log.info(
        "deletion %s: %d users, %d records removed from segments", job.arn, len(users), removed
    )
    ctx.store.update(job.arn, body={"numDeleted": removed, "pendingLogDeletion": str(path)})


@every(0.5)
def finish_log_deletions(ctx: Context) -> None:
    """Server side of a data deletion: the users' records still in the real-time logs."""
    for resource in ctx.store.select(KIND):
        pending = resource.body.get("pendingLogDeletion")
        if resource.status != lifecycle.IN_PROGRESS or not pending:
            continue
        path = Path(pending)
        try:
            users = json.loads(path.read_text())
            removed = 0
            for dataset_arn in _datasets_with_users(ctx, resource.body["datasetGroupArn"]):
                reader = LogReader(ctx.event_log.root, dataset_arn, ctx.records)
                if reader.checkpoint_name is None:
                    continue  # never had real-time records
                spec = dataset_records.spec_for_arn(ctx, dataset_arn)
                dataset_log = ctx.event_log.open(
                    dataset_arn, spec.log_config, to_table=spec.put_table
                )
                removed += dataset_log.delete_users(users)
        except Exception as exc:
            log.exception("data deletion %s failed in the server", resource.arn)
            runner.fail(ctx, resource.arn, KIND, f"Data deletion failed: {exc}")
            continue
        total = int(resource.body.get("numDeleted") or 0) + removed
        ctx.store.update(
            resource.arn,
            status=lifecycle.COMPLETED,
            body={"numDeleted": total, "pendingLogDeletion": None},
        )
        path.unlink(missing_ok=True)
        log.info("deletion %s: completed, %d records removed", resource.arn, total)
