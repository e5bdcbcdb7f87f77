"""Metric attribution for dataset import jobs (an import hook, run in the worker).

After a successful import into the Interactions dataset of a group that has a metric attribution:

- INCREMENTAL imports add their events of the last 14 days to the live aggregates (``/metrics``),
  as Personalize sends incremental bulk data to CloudWatch;
- with ``publishAttributionMetricsToS3`` (FULL or INCREMENTAL) and an
  ``s3DataDestination`` on the metric attribution, the aggregates of every record of the import
  (no age cut-off: the report is about the imported history) are written as
  ``AggregatedAttributionMetrics - <importMode> - <epoch seconds>.csv`` under that path (local,
  ``file://`` or ``s3://``).

A report that cannot be written is logged: the imported records are committed by then, so the
job stays ACTIVE.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from openpersonalize.controlplane import attribution_metrics as am
from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.data.attribution import (
    LIVE_MAX_AGE_SECONDS,
    Aggregate,
    aggregate,
    merge,
    report_csv,
    report_name,
)
from openpersonalize.data.dataset_reader import DatasetSpec
from openpersonalize.jobs.imports import IMPORT_HOOKS

log = logging.getLogger("openpersonalize.jobs.attribution")


def _aggregates(
    ctx: Context, attribution: am.ActiveAttribution, tables: list[pa.Table], cutoff: float | None
) -> list[Aggregate]:
    store = am.attribution_store(ctx)
    items = am.item_values(ctx, attribution.dataset_group, attribution.item_columns)
    out: list[Aggregate] = []
    for table in tables:
        if cutoff is not None and "TIMESTAMP" in table.column_names:
            table = table.filter(
                pc.greater_equal(pc.cast(table["TIMESTAMP"], pa.float64()), cutoff)
            )
        if table.num_rows == 0:
            continue
        explicit = _strings(table, "EVENT_ATTRIBUTION_SOURCE")
        recommendation_ids = _strings(table, "RECOMMENDATION_ID")
        sources = am.resolve_sources(explicit, recommendation_ids, store.resolve)
        events = am.events_table(attribution, table, sources, items)
        out.extend(aggregate(events, attribution.metrics))
    return merge(out)


def _strings(table: pa.Table, column: str) -> list[str | None]:
    if column not in table.column_names:
        return [None] * table.num_rows
    return [None if v is None else str(v) for v in table[column].to_pylist()]


def after_import(
    ctx: Context, job: dict[str, Any], spec: DatasetSpec, imported: list[pa.Table]
) -> None:
    if spec.dataset_type != "Interactions":
        return
    dataset = common.get(ctx, spec.dataset_id, "dataset")
    attribution = am.active_attribution(ctx, dataset.dataset_group or "")
    if attribution is None or not attribution.metrics:
        return
    mode = job.get("importMode") or "FULL"
    if mode == "INCREMENTAL":
        live = _aggregates(ctx, attribution, imported, ctx.now() - LIVE_MAX_AGE_SECONDS)
        am.attribution_store(ctx).add(attribution.arn, live)
    if not job.get("publishAttributionMetricsToS3"):
        return
    if not attribution.output_path:
        log.warning(
            "import %s: publishAttributionMetricsToS3 is set but metric attribution %s has no "
            "s3DataDestination; no report written",
            job.get("datasetImportJobArn"),
            attribution.arn,
        )
        return
    if mode == "FULL":  # the import's records are the dataset's BULK records now
        columns = [c for c in _report_columns(attribution) if c in spec.schema]
        imported = [ctx.records.read(spec.dataset_id, columns, source="BULK")]
    name = report_name(mode, ctx.now())
    try:
        text = report_csv(_aggregates(ctx, attribution, imported, None))
        ctx.location(attribution.output_path).write_bytes(name, text.encode())
    except Exception as exc:
        log.error(
            "import %s: metric attribution report %s not written to %s: %s",
            job.get("datasetImportJobArn"),
            name,
            attribution.output_path,
            exc,
        )
        return
    log.info(
        "import %s: metric attribution report %s written", job.get("datasetImportJobArn"), name
    )


def _report_columns(attribution: am.ActiveAttribution) -> list[str]:
    wanted = ["EVENT_TYPE", "TIMESTAMP", "ITEM_ID", "EVENT_ATTRIBUTION_SOURCE", "RECOMMENDATION_ID"]
    return list(dict.fromkeys(wanted + attribution.interaction_columns))


IMPORT_HOOKS.append(after_import)
