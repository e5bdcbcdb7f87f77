"""Data jobs: dataset imports, dataset exports and data deletion. Their work runs in workers."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import common, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.errors import InvalidInputException, LimitExceededException

IMPORT = "dataset-import-job"
EXPORT = "dataset-export-job"
DELETION = "data-deletion-job"


def _check_location(url: str, field: str) -> None:
    if url.startswith(("http://", "https://")):
        raise InvalidInputException(
            f"Invalid Data location. {field} {url!r}: use s3://bucket/key, a file:// URL or "
            "a local path."
        )


@operation("CreateDatasetImportJob")
def create_dataset_import_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    dataset = common.require(ctx, params["datasetArn"], "dataset")
    location = params["dataSource"].get("dataLocation")
    if not location:
        raise InvalidInputException("dataSource.dataLocation is required.")
    _check_location(location, "dataSource.dataLocation")
    mode = params.get("importMode") or "FULL"
    if mode == "INCREMENTAL":
        done = [
            j for j in ctx.store.select(IMPORT, parent=dataset.arn) if j.status == lifecycle.ACTIVE
        ]
        if not done:
            raise InvalidInputException(
                f"The first import into dataset {dataset.arn} must use importMode FULL."
            )
    pending = ctx.store.count(
        IMPORT, statuses=(lifecycle.CREATE_PENDING, lifecycle.CREATE_IN_PROGRESS)
    )
    if pending >= ctx.config.max_pending_import_jobs:
        raise LimitExceededException(
            f"More than {ctx.config.max_pending_import_jobs} resources with PENDING or "
            "IN_PROGRESS status."
        )
    name = params["jobName"]
    arn = ctx.arns.make(IMPORT, name)
    body = {
        "jobName": name,
        "datasetImportJobArn": arn,
        "datasetArn": dataset.arn,
        "dataSource": {"dataLocation": location},
        "roleArn": params.get("roleArn"),
        "importMode": mode,
        "publishAttributionMetricsToS3": params.get("publishAttributionMetricsToS3"),
    }
    common.create_job(
        ctx,
        kind=IMPORT,
        arn=arn,
        name=name,
        body=body,
        under=dataset,
        tags=params.get("tags"),
    )
    return {"datasetImportJobArn": arn}


@operation("DescribeDatasetImportJob")
def describe_dataset_import_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"datasetImportJob": common.describe(ctx, params["datasetImportJobArn"], IMPORT)}


@operation("ListDatasetImportJobs")
def list_dataset_import_jobs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, IMPORT, "datasetImportJobs", parent=params.get("datasetArn")
    )


@operation("CreateDatasetExportJob")
def create_dataset_export_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    dataset = common.require(ctx, params["datasetArn"], "dataset")
    path = params["jobOutput"]["s3DataDestination"]["path"]
    _check_location(path, "jobOutput.s3DataDestination.path")
    name = params["jobName"]
    arn = ctx.arns.make(EXPORT, name)
    body = {
        "jobName": name,
        "datasetExportJobArn": arn,
        "datasetArn": dataset.arn,
        "ingestionMode": params.get("ingestionMode") or "PUT",
        "roleArn": params["roleArn"],
        "jobOutput": params["jobOutput"],
    }
    common.create_job(
        ctx,
        kind=EXPORT,
        arn=arn,
        name=name,
        body=body,
        under=dataset,
        tags=params.get("tags"),
    )
    return {"datasetExportJobArn": arn}


@operation("DescribeDatasetExportJob")
def describe_dataset_export_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"datasetExportJob": common.describe(ctx, params["datasetExportJobArn"], EXPORT)}


@operation("ListDatasetExportJobs")
def list_dataset_export_jobs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, EXPORT, "datasetExportJobs", parent=params.get("datasetArn")
    )


@operation("CreateDataDeletionJob")
def create_data_deletion_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = common.require(ctx, params["datasetGroupArn"], "dataset-group")
    location = params["dataSource"].get("dataLocation")
    if not location:
        raise InvalidInputException("dataSource.dataLocation is required.")
    _check_location(location, "dataSource.dataLocation")
    pending = [
        j
        for j in ctx.store.select(DELETION, dataset_group=group.arn)
        if j.status == lifecycle.PENDING
    ]
    limit = ctx.config.max_pending_data_deletion_jobs
    if len(pending) >= limit:
        raise LimitExceededException(f"More than {limit} resources with PENDING status.")
    name = params["jobName"]
    arn = ctx.arns.make(DELETION, name)
    body = {
        "jobName": name,
        "dataDeletionJobArn": arn,
        "datasetGroupArn": group.arn,
        "dataSource": {"dataLocation": location},
        "roleArn": params["roleArn"],
    }
    common.create_job(
        ctx,
        kind=DELETION,
        arn=arn,
        name=name,
        body=body,
        under=group,
        tags=params.get("tags"),
        status=lifecycle.PENDING,
    )
    return {"dataDeletionJobArn": arn}


@operation("DescribeDataDeletionJob")
def describe_data_deletion_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"dataDeletionJob": common.describe(ctx, params["dataDeletionJobArn"], DELETION)}


@operation("ListDataDeletionJobs")
def list_data_deletion_jobs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(
        ctx, params, DELETION, "dataDeletionJobs", dataset_group=params.get("datasetGroupArn")
    )
