"""Browsing pages: dataset groups, one group with everything under it, a solution with its
versions and metrics, data insights, resource details, deletion and the status feed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import RedirectResponse, Response

from openpersonalize.console import charts, insights, ops
from openpersonalize.console.web import (
    PREFIX,
    Req,
    as_json,
    group_name,
    group_path,
    redirect,
    render,
)
from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import (
    InvalidInputException,
    PersonalizeError,
    ResourceNotFoundException,
)

# Resource kind -> (delete operation, its ARN parameter, what the page calls it).
DELETES: dict[str, tuple[str, str, str]] = {
    "dataset-group": ("DeleteDatasetGroup", "datasetGroupArn", "dataset group"),
    "dataset": ("DeleteDataset", "datasetArn", "dataset"),
    "solution": ("DeleteSolution", "solutionArn", "solution"),
    "campaign": ("DeleteCampaign", "campaignArn", "campaign"),
    "recommender": ("DeleteRecommender", "recommenderArn", "recommender"),
    "filter": ("DeleteFilter", "filterArn", "filter"),
    "event-tracker": ("DeleteEventTracker", "eventTrackerArn", "event tracker"),
    "schema": ("DeleteSchema", "schemaArn", "schema"),
}
# Resource kind -> (Describe operation, ARN parameter, response key).
DESCRIBES: dict[str, tuple[str, str, str]] = {
    "dataset-group": ("DescribeDatasetGroup", "datasetGroupArn", "datasetGroup"),
    "dataset": ("DescribeDataset", "datasetArn", "dataset"),
    "schema": ("DescribeSchema", "schemaArn", "schema"),
    "dataset-import-job": (
        "DescribeDatasetImportJob",
        "datasetImportJobArn",
        "datasetImportJob",
    ),
    "dataset-export-job": (
        "DescribeDatasetExportJob",
        "datasetExportJobArn",
        "datasetExportJob",
    ),
    "solution": ("DescribeSolution", "solutionArn", "solution"),
    "solution-version": ("DescribeSolutionVersion", "solutionVersionArn", "solutionVersion"),
    "campaign": ("DescribeCampaign", "campaignArn", "campaign"),
    "recommender": ("DescribeRecommender", "recommenderArn", "recommender"),
    "filter": ("DescribeFilter", "filterArn", "filter"),
    "event-tracker": ("DescribeEventTracker", "eventTrackerArn", "eventTracker"),
    "batch-inference-job": (
        "DescribeBatchInferenceJob",
        "batchInferenceJobArn",
        "batchInferenceJob",
    ),
    "batch-segment-job": ("DescribeBatchSegmentJob", "batchSegmentJobArn", "batchSegmentJob"),
}


def sidebar_groups(ctx: Context) -> list[str]:
    try:
        return sorted(g["name"] for g in ops.list_all(ctx, "ListDatasetGroups", "datasetGroups"))
    except PersonalizeError:
        return []


def home(req: Req) -> Response:
    return RedirectResponse(PREFIX + "/dataset-groups", status_code=303)


def dataset_groups(req: Req) -> Response:
    groups = ops.list_all(req.ctx, "ListDatasetGroups", "datasetGroups")
    groups.sort(key=lambda g: -float(g.get("creationDateTime") or 0))
    return render(req, "groups.html", title="Dataset groups", dataset_groups=groups)


def create_dataset_group(req: Req) -> Response:
    error: PersonalizeError | None = None
    if req.method == "POST":
        domain = req.field("domain")
        try:
            out = ops.call(
                req.ctx,
                "CreateDatasetGroup",
                {"name": req.field("name"), "domain": domain or None},
            )
            return redirect(group_path(out["datasetGroupArn"]), "Dataset group created.")
        except PersonalizeError as exc:
            error = exc
    return render(
        req,
        "group_create.html",
        400 if error else 200,
        title="Create dataset group",
        error=error,
        values=req.form,
    )


# -- one dataset group ----------------------------------------------------------------------------


@dataclass
class SolutionView:
    solution: dict[str, Any]
    recipe: str
    versions: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    batch_inference: list[dict[str, Any]] = field(default_factory=list)
    batch_segments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GroupTree:
    group: dict[str, Any]
    datasets: list[dict[str, Any]]
    import_jobs: list[dict[str, Any]]
    solutions: list[SolutionView]
    recommenders: list[dict[str, Any]]
    filters: list[dict[str, Any]]
    trackers: list[dict[str, Any]]

    @property
    def arn(self) -> str:
        return str(self.group["datasetGroupArn"])

    @property
    def name(self) -> str:
        return str(self.group["name"])

    @property
    def domain(self) -> str | None:
        return self.group.get("domain")

    @property
    def campaigns(self) -> list[dict[str, Any]]:
        return [c for s in self.solutions for c in s.campaigns]

    @property
    def versions(self) -> list[dict[str, Any]]:
        return [v for s in self.solutions for v in s.versions]

    @property
    def batch_jobs(self) -> list[tuple[str, dict[str, Any]]]:
        jobs = [("Batch inference", j) for s in self.solutions for j in s.batch_inference]
        jobs += [("Batch segment", j) for s in self.solutions for j in s.batch_segments]
        jobs.sort(key=lambda kj: -float(kj[1].get("creationDateTime") or 0))
        return jobs

    def dataset(self, dataset_type: str) -> dict[str, Any] | None:
        for dataset in self.datasets:
            if dataset.get("datasetType") == dataset_type:
                return dataset
        return None

    def in_flight(self) -> bool:
        everything = (
            self.datasets
            + self.import_jobs
            + self.versions
            + self.campaigns
            + self.recommenders
            + [j for _, j in self.batch_jobs]
        )
        return any(r.get("status") in lifecycle.IN_FLIGHT for r in everything)


def group_arn_of(req: Req) -> str:
    return req.ctx.arns.make("dataset-group", req.path_param("group"))


def load_group(ctx: Context, group_arn: str, *, deep: bool = True) -> GroupTree:
    """The dataset group and (with ``deep``) everything under it, via the List operations."""
    group = ops.call(ctx, "DescribeDatasetGroup", {"datasetGroupArn": group_arn})["datasetGroup"]
    tree = GroupTree(group, [], [], [], [], [], [])
    if not deep:
        return tree
    tree.datasets = ops.list_all(ctx, "ListDatasets", "datasets", datasetGroupArn=group_arn)
    tree.datasets.sort(key=lambda d: str(d.get("datasetType")))
    for dataset in tree.datasets:
        dataset["recordCount"] = record_count(ctx, dataset["datasetArn"])
        jobs = ops.list_all(
            ctx, "ListDatasetImportJobs", "datasetImportJobs", datasetArn=dataset["datasetArn"]
        )
        for job in jobs:
            job["datasetType"] = dataset.get("datasetType")
        tree.import_jobs.extend(jobs)
    tree.import_jobs.sort(key=lambda j: -float(j.get("creationDateTime") or 0))
    for solution in ops.list_all(ctx, "ListSolutions", "solutions", datasetGroupArn=group_arn):
        view = SolutionView(solution, str(solution.get("recipeArn", "")).rsplit("/", 1)[-1])
        arn = solution["solutionArn"]
        view.versions = ops.list_all(
            ctx, "ListSolutionVersions", "solutionVersions", solutionArn=arn
        )
        view.campaigns = ops.list_all(ctx, "ListCampaigns", "campaigns", solutionArn=arn)
        for version in view.versions:
            version_arn = version["solutionVersionArn"]
            view.batch_inference += ops.list_all(
                ctx,
                "ListBatchInferenceJobs",
                "batchInferenceJobs",
                solutionVersionArn=version_arn,
            )
            view.batch_segments += ops.list_all(
                ctx, "ListBatchSegmentJobs", "batchSegmentJobs", solutionVersionArn=version_arn
            )
        tree.solutions.append(view)
    tree.recommenders = ops.list_all(
        ctx, "ListRecommenders", "recommenders", datasetGroupArn=group_arn
    )
    tree.filters = ops.list_all(ctx, "ListFilters", "Filters", datasetGroupArn=group_arn)
    tree.trackers = ops.list_all(
        ctx, "ListEventTrackers", "eventTrackers", datasetGroupArn=group_arn
    )
    return tree


def record_count(ctx: Context, dataset_arn: str) -> int | None:
    with contextlib.suppress(Exception):
        return ctx.records.count(dataset_arn)
    return None


def dataset_group(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    return render(
        req,
        "group.html",
        title=tree.name,
        tree=tree,
        current_group=tree.name,
        section="overview",
        refresh=tree.in_flight(),
    )


def group_insights(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    interactions = tree.dataset("Interactions")
    stats = insights.interaction_stats(
        req.ctx, interactions["datasetArn"] if interactions else None
    )
    chart_set = {
        "per_day": charts.bar_chart(stats.days, stats.per_day, title="Interactions per day"),
        "event_types": charts.hbar_chart(stats.event_types, title="Event-type mix"),
        "tail": charts.line_chart(
            {"interactions": stats.tail},
            title="Item popularity (long tail)",
            x_labels=stats.tail_labels,
            log_y=True,
        ),
        "metrics": insights.metrics_chart(tree.versions),
    }
    return render(
        req,
        "insights.html",
        title=f"{tree.name}: data insights",
        tree=tree,
        stats=stats,
        charts=chart_set,
        current_group=tree.name,
        section="insights",
    )


def solution_page(req: Req) -> Response:
    group_arn = group_arn_of(req)
    solution_arn = req.ctx.arns.make("solution", req.path_param("solution"))
    solution = ops.call(req.ctx, "DescribeSolution", {"solutionArn": solution_arn})["solution"]
    if solution.get("datasetGroupArn") != group_arn:
        raise ResourceNotFoundException.for_arn(solution_arn)
    tree = load_group(req.ctx, group_arn)
    view = next(s for s in tree.solutions if s.solution["solutionArn"] == solution_arn)
    metrics: dict[str, dict[str, float]] = {}
    for version in view.versions:
        if version.get("status") == lifecycle.ACTIVE:
            with contextlib.suppress(PersonalizeError):
                metrics[version["solutionVersionArn"]] = ops.call(
                    req.ctx,
                    "GetSolutionMetrics",
                    {"solutionVersionArn": version["solutionVersionArn"]},
                ).get("metrics", {})
            version["metrics"] = metrics.get(version["solutionVersionArn"], {})
    chart = insights.metrics_chart(view.versions, width=960)
    return render(
        req,
        "solution.html",
        title=solution["name"],
        tree=tree,
        view=view,
        solution=solution,
        metrics=metrics,
        metric_names=insights.METRIC_NAMES,
        short_metric=insights.SHORT_METRIC,
        chart=chart,
        current_group=tree.name,
        section="overview",
        refresh=any(v.get("status") in lifecycle.IN_FLIGHT for v in view.versions),
    )


# -- any resource -----------------------------------------------------------------------------


def _resource_kind(req: Req, arn: str) -> str:
    resource = req.ctx.store.find(arn)
    if resource is None:
        raise ResourceNotFoundException.for_arn(arn)
    return resource.kind


def resource_details(req: Req) -> Response:
    arn = req.query.get("arn", "")
    kind = _resource_kind(req, arn)
    describe = DESCRIBES.get(kind)
    if describe is None:
        raise InvalidInputException(f"The console cannot show {kind} resources.")
    operation, param, key = describe
    resource = ops.call(req.ctx, operation, {param: arn})[key]
    stored = req.ctx.store.find(arn)
    group_arn = resource.get("datasetGroupArn") or (stored.dataset_group if stored else None)
    return render(
        req,
        "resource.html",
        title=short_arn_title(arn),
        kind=kind,
        arn=arn,
        resource=resource,
        group_arn=group_arn,
        current_group=group_name(group_arn) if group_arn else None,
        deletable=kind in DELETES,
        refresh=resource.get("status") in lifecycle.IN_FLIGHT,
    )


def short_arn_title(arn: str) -> str:
    return arn.split(":", 5)[-1]


def delete(req: Req) -> Response:
    arn = req.form.get("arn") or req.query.get("arn", "")
    resource = req.ctx.store.find(arn)
    if resource is None or resource.deleted_at is not None:
        raise ResourceNotFoundException.for_arn(arn)
    if resource.kind not in DELETES:
        raise InvalidInputException(f"{resource.kind} resources cannot be deleted.")
    operation, param, noun = DELETES[resource.kind]
    group_arn = resource.dataset_group or (arn if resource.kind == "dataset-group" else None)
    back = group_path(group_arn) if group_arn and resource.kind != "dataset-group" else ""
    error: PersonalizeError | None = None
    if req.method == "POST":
        if req.field("confirm") != "delete":
            error = InvalidInputException('Type "delete" to confirm.')
        else:
            try:
                ops.call(req.ctx, operation, {param: arn})
                target = back or "/dataset-groups"
                return redirect(target, f"Deleting {noun} {resource.name}.")
            except PersonalizeError as exc:
                error = exc
    return render(
        req,
        "delete.html",
        400 if error else 200,
        title=f"Delete {noun}",
        arn=arn,
        noun=noun,
        name=resource.name,
        back=PREFIX + (back or "/dataset-groups"),
        error=error,
        current_group=group_name(group_arn) if group_arn else None,
    )


def status_feed(req: Req) -> Response:
    """Status and progress of everything under a group (polled by console.js)."""
    group_arn = req.ctx.arns.make("dataset-group", req.query.get("group", ""))
    tree = load_group(req.ctx, group_arn)
    resources: dict[str, dict[str, Any]] = {}
    everything = (
        tree.datasets
        + tree.import_jobs
        + tree.versions
        + tree.campaigns
        + tree.recommenders
        + tree.filters
        + [j for _, j in tree.batch_jobs]
    )
    for resource in everything:
        key = _arn_key(resource)
        if key:
            resources[str(resource[key])] = {
                "status": resource.get("status"),
                "percentComplete": resource.get("percentComplete"),
            }
    return as_json({"group": tree.name, "inFlight": tree.in_flight(), "resources": resources})


_ARN_KEYS = (
    "datasetImportJobArn",
    "batchInferenceJobArn",
    "batchSegmentJobArn",
    "solutionVersionArn",
    "campaignArn",
    "recommenderArn",
    "filterArn",
    "datasetArn",
)


def _arn_key(resource: dict[str, Any]) -> str | None:
    """The resource's own ARN member (a campaign also names its solution version)."""
    for key in ("campaignArn", "batchInferenceJobArn", "batchSegmentJobArn"):
        if key in resource:
            return key
    for key in _ARN_KEYS:
        if key in resource:
            return key
    return None
