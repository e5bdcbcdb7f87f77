"""Dataset import jobs: CSV (or CSV.gz) files at a location → the dataset's BULK records.

FULL streams every file into new segments and switches them in atomically (the previous bulk data
stays until then, and stays for good if any file is bad). INCREMENTAL reads every file first (AWS
caps it at 1 GB) and appends them in one commit, upserting by id for Items/Users/Actions. Either
way a bad file fails the job with a reason naming the file, row, column and problem, and the
dataset is unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from openpersonalize.controlplane import dataset_records, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.data.csv_import import CsvImportError, iter_csv_batches
from openpersonalize.data.dataset_reader import DatasetSpec
from openpersonalize.jobs import runner
from openpersonalize.jobs.sources import display_name, input_objects, local_copy
from openpersonalize.store.metadata import Job
from openpersonalize.store.objects import ObjectInfo, ObjectStore

log = logging.getLogger("openpersonalize.jobs.imports")

# Called after a successful import with (ctx, job body, dataset spec, the tables of an INCREMENTAL
# import — empty for FULL, whose records are the dataset's BULK records); metric attribution
# registers here.
ImportHook = Callable[[Context, dict[str, Any], DatasetSpec, list[pa.Table]], None]
IMPORT_HOOKS: list[ImportHook] = []
KIND = "dataset-import-job"
PROGRESS_SECONDS = 1.0


class _Progress:
    """Records read and bytes done, written to the job (and the log) at most once a second."""

    def __init__(self, ctx: Context, arn: str, total_bytes: int) -> None:
        self.ctx = ctx
        self.arn = arn
        self.total_bytes = max(total_bytes, 1)
        self.done_bytes = 0
        self.records = 0
        self._last = 0.0

    def file_done(self, size: int) -> None:
        self.done_bytes += size
        self.report(force=True)

    def report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        percent = round(100.0 * self.done_bytes / self.total_bytes, 1)
        # Not in the botocore model (Describe drops it); the console and logs show it.
        self.ctx.store.update(
            self.arn, body={"percentComplete": percent, "importedRecords": self.records}
        )
        log.info("import %s: %.1f%% of input, %d records", self.arn, percent, self.records)


def read_tables(
    ctx: Context,
    spec: DatasetSpec,
    store: ObjectStore,
    objects: list[ObjectInfo],
    progress: _Progress,
) -> Iterator[pa.Table]:
    """Every file's rows as typed tables; a bad file raises :class:`runner.JobFailed`."""
    for obj in objects:
        name = display_name(obj)
        with local_copy(ctx, store, obj) as path:
            try:
                for batch in iter_csv_batches(path, spec.schema, file_name=name):
                    progress.records += batch.num_rows
                    yield pa.Table.from_batches([batch])
                    progress.report()
            except CsvImportError as exc:
                raise runner.JobFailed(f"Import failed: {exc.failure_reason}") from None
        progress.file_done(obj.size)


def check_minimum(ctx: Context, count: int) -> None:
    minimum = ctx.config.min_import_records
    if count < minimum:
        raise runner.JobFailed(
            f"Insufficient data: the import has {count} records; a dataset import job needs "
            f"at least {minimum} records."
        )


@runner.job(KIND)
def run_import(ctx: Context, job: Job) -> None:
    runner.start(ctx, job.arn)
    resource = ctx.store.get(job.arn)
    spec = dataset_records.spec_for_arn(ctx, resource.body["datasetArn"])
    url = resource.body["dataSource"]["dataLocation"]
    mode = resource.body.get("importMode") or "FULL"
    store, objects = input_objects(ctx, url)
    progress = _Progress(ctx, job.arn, sum(o.size for o in objects))
    log.info("import %s: %s into %s (%d files)", job.arn, mode, spec.dataset_id, len(objects))
    started = time.monotonic()

    if mode == "FULL":

        def checked() -> Iterator[pa.Table]:
            yield from read_tables(ctx, spec, store, objects, progress)
            check_minimum(ctx, progress.records)

        rows = ctx.records.replace_bulk(spec.dataset_id, checked(), upsert_key=spec.upsert_key)
        imported: list[pa.Table] = []
    else:
        imported = list(read_tables(ctx, spec, store, objects, progress))
        check_minimum(ctx, progress.records)
        if imported:
            table = pa.concat_tables(imported)
        else:
            table = spec.schema.to_arrow_schema().empty_table()
        rows = ctx.records.append(spec.dataset_id, table, spec.upsert_key, source="BULK")

    for hook in IMPORT_HOOKS:
        hook(ctx, resource.body, spec, imported)
    seconds = time.monotonic() - started
    log.info(
        "import %s: %d records in %.2f s (%.0f records/s)",
        job.arn,
        rows,
        seconds,
        rows / max(seconds, 1e-9),
    )
    ctx.store.update(
        job.arn,
        status=lifecycle.ACTIVE,
        body={"percentComplete": 100.0, "importedRecords": rows, "importSeconds": seconds},
    )
