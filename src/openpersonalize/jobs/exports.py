"""Dataset export jobs: a dataset's records → CSV files with a header row at ``jobOutput``.

``ingestionMode`` BULK exports the import-job records, PUT the real-time ones (compacted or still
in the event log), ALL both; with ALL, Items/Users/Actions keep only the newest record per id.
Exact duplicate records are exported once. Files are
``<path>/<jobName>/<DatasetType>_<n>.csv``, at most :data:`ROWS_PER_FILE` rows each; an empty
export still writes one file with the header.
"""

from __future__ import annotations

import logging
import time

import pyarrow as pa
import pyarrow.csv as pacsv

from openpersonalize.controlplane import dataset_records, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.data.dataset_reader import Source, read_dataset, unique_rows
from openpersonalize.jobs import runner
from openpersonalize.store.metadata import Job

log = logging.getLogger("openpersonalize.jobs.exports")
KIND = "dataset-export-job"
ROWS_PER_FILE = 1_000_000


def write_csv_files(ctx: Context, url: str, prefix: str, table: pa.Table) -> list[str]:
    """Write ``table`` as CSV files under ``url``; returns their keys."""
    store = ctx.location(url)
    keys = []
    n_files = max(1, -(-table.num_rows // ROWS_PER_FILE))
    for i in range(n_files):
        part = table.slice(i * ROWS_PER_FILE, ROWS_PER_FILE)
        key = f"{prefix}_{i:05d}.csv"
        with store.open_write(key) as stream:
            pacsv.write_csv(part, stream)
        keys.append(key)
    return keys


@runner.job(KIND)
def run_export(ctx: Context, job: Job) -> None:
    runner.start(ctx, job.arn)
    resource = ctx.store.get(job.arn)
    body = resource.body
    spec = dataset_records.spec_for_arn(ctx, body["datasetArn"])
    mode: Source = body.get("ingestionMode") or "PUT"
    started = time.monotonic()
    table = read_dataset(ctx.records, dataset_records.events_root(ctx), spec, source=mode)
    table = unique_rows(table)
    path = body["jobOutput"]["s3DataDestination"]["path"]
    keys = write_csv_files(ctx, path, f"{body['jobName']}/{spec.dataset_type}", table)
    log.info(
        "export %s: %d records (%s) in %.2f s to %s",
        job.arn,
        table.num_rows,
        mode,
        time.monotonic() - started,
        path,
    )
    ctx.store.update(
        job.arn, status=lifecycle.ACTIVE, body={"exportedRecords": table.num_rows, "files": keys}
    )
