"""Create forms, following the AWS console workflows. Each calls the API operation in-process and,
on failure, shows the operation's own error code and message next to the input that caused it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.responses import Response

from openpersonalize.console import ops
from openpersonalize.console.views import GroupTree, group_arn_of, load_group
from openpersonalize.console.web import Req, group_path, redirect, render
from openpersonalize.controlplane import catalog, lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.data.domain_schemas import default_domain_schema
from openpersonalize.errors import InvalidInputException, PersonalizeError

DATASET_TYPES = ("Interactions", "Items", "Users", "Actions", "Action_Interactions")
WIRE_TYPE = {t: t.upper() for t in DATASET_TYPES}
DEFAULT_ROLE = "arn:aws:iam::{account}:role/PersonalizeRole"
FILTER_EXAMPLES = (
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")',
    "INCLUDE ItemID WHERE Items.GENRES IN ($GENRES)",
    "EXCLUDE ItemID WHERE Items.PRICE > 20",
)


class _FieldError(Exception):
    """A submission error that belongs beside one input, whatever its message says."""

    def __init__(self, error: PersonalizeError, field: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.field = field


@contextmanager
def _blame(field: str) -> Iterator[None]:
    """Errors raised inside are shown beside ``field``."""
    try:
        yield
    except PersonalizeError as exc:
        raise _FieldError(exc, field) from exc


def _no_field(error: PersonalizeError) -> str | None:
    return None


def _create_form(
    req: Req,
    tree: GroupTree,
    template: str,
    *,
    title: str,
    defaults: dict[str, str],
    submit: Callable[[], Response],
    error_field: Callable[[PersonalizeError], str | None] = _no_field,
    **context: Any,
) -> Response:
    """A create page. GET: the form filled with ``defaults``. POST: ``submit`` calls the operation
    and redirects; when it fails, the form comes back with the input kept and the error beside the
    field that ``_blame`` or ``error_field`` names."""
    error: PersonalizeError | None = None
    field: str | None = None
    values = defaults
    if req.method == "POST":
        values = dict(req.form)
        try:
            return submit()
        except _FieldError as blamed:
            error, field = blamed.error, blamed.field
        except PersonalizeError as exc:
            error, field = exc, error_field(exc)
    return render(
        req,
        template,
        400 if error else 200,
        tree=tree,
        error=error,
        error_field=field,
        values=values,
        current_group=tree.name,
        section="overview",
        title=title,
        **context,
    )


def role_arn(ctx: Context) -> str:
    return DEFAULT_ROLE.format(account=ctx.config.account_id)


def _json_object(text: str, what: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputException(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno})."
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputException(f"{what} must be a JSON object.")
    return value


# -- datasets and imports -------------------------------------------------------------------------


def schema_template(domain: str | None, dataset_type: str) -> str:
    """The editor's starting text: the domain default, or the custom preset's schema."""
    if domain and dataset_type in ("Interactions", "Items", "Users"):
        return default_domain_schema(domain, dataset_type)
    from openpersonalize.datasets import get_preset

    name = dataset_type.lower()
    if name in ("interactions", "items", "users"):
        return get_preset("custom").avro_schema(name)
    fields = {
        "Actions": [{"name": "ACTION_ID", "type": "string"}],
        "Action_Interactions": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ACTION_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
            {"name": "EVENT_TYPE", "type": "string"},
        ],
    }[dataset_type]
    record = {
        "type": "record",
        "name": dataset_type.replace("_", ""),
        "namespace": "com.amazonaws.personalize.schema",
        "fields": fields,
        "version": "1.0",
    }
    return json.dumps(record, indent=2)


def _schema_arn(ctx: Context, name: str, text: str, domain: str | None) -> str:
    """CreateSchema, or the same-named schema when its text is identical (a resubmitted form)."""
    arn = ctx.arns.make("schema", name)
    existing = ctx.store.find(arn)
    if (
        existing is not None
        and existing.deleted_at is None
        and json.loads(existing.body["schema"]) == _loads_or_none(text)
    ):
        return arn
    out = ops.call(ctx, "CreateSchema", {"name": name, "schema": text, "domain": domain})
    return str(out["schemaArn"])


def _loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def create_dataset(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    existing = {d["datasetType"] for d in tree.datasets}
    free = [t for t in DATASET_TYPES if t not in existing]
    dataset_type = req.form.get("datasetType") or req.query.get("type") or (free or ["Items"])[0]
    if dataset_type not in DATASET_TYPES:
        dataset_type = "Interactions"
    schemas = [
        s
        for s in ops.list_all(req.ctx, "ListSchemas", "schemas")
        if (s.get("domain") or None) == tree.domain
    ]

    def submit() -> Response:
        if req.field("schemaSource") == "existing":
            schema_arn = req.field("schemaArn")
        else:
            with _blame("schema"):
                schema_arn = _schema_arn(
                    req.ctx, req.field("schemaName"), req.form.get("schema", ""), tree.domain
                )
        params = {
            "name": req.field("name"),
            "schemaArn": schema_arn,
            "datasetGroupArn": tree.arn,
            "datasetType": WIRE_TYPE[dataset_type],
        }
        ops.call(req.ctx, "CreateDataset", params)
        return redirect(group_path(tree.arn), f"{dataset_type} dataset created.")

    return _create_form(
        req,
        tree,
        "dataset_create.html",
        title="Create dataset",
        defaults={
            "datasetType": dataset_type,
            "name": f"{tree.name}-{dataset_type.lower()}",
            "schemaName": f"{tree.name}-{dataset_type.lower()}-schema",
            "schema": schema_template(tree.domain, dataset_type),
            "schemaSource": "new",
        },
        submit=submit,
        error_field=lambda exc: "schema" if "schema" in exc.message.lower() else None,
        dataset_types=DATASET_TYPES,
        schemas=schemas,
        templates={t: schema_template(tree.domain, t) for t in DATASET_TYPES},
    )


def create_import_job(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))

    def submit() -> Response:
        params = {
            "jobName": req.field("jobName"),
            "datasetArn": req.field("datasetArn"),
            "dataSource": {"dataLocation": req.field("dataLocation")},
            "importMode": req.field("importMode", "FULL"),
            "roleArn": req.field("roleArn") or None,
        }
        ops.call(req.ctx, "CreateDatasetImportJob", params)
        return redirect(group_path(tree.arn), "Import job created.")

    return _create_form(
        req,
        tree,
        "import_create.html",
        title="Import data",
        defaults={
            "datasetArn": req.query.get("dataset", ""),
            "jobName": f"{tree.name}-import-{len(tree.import_jobs) + 1}",
            "importMode": "FULL",
        },
        submit=submit,
        error_field=lambda exc: "dataLocation" if "location" in exc.message.lower() else None,
    )


# -- solutions, versions, campaigns ---------------------------------------------------------------


def custom_recipes() -> list[catalog.Recipe]:
    return [r for r in catalog.RECIPES if not r.domain and not r.legacy]


def create_solution(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))

    def submit() -> Response:
        with _blame("hyperparameters"):
            hyper = _json_object(req.form.get("hyperparameters", ""), "Hyperparameters")
        with _blame("hpoConfig"):
            hpo = _json_object(req.form.get("hpoConfig", ""), "HPO configuration")
        config: dict[str, Any] = {}
        if hyper:
            config["algorithmHyperParameters"] = {k: str(v) for k, v in hyper.items()}
        if hpo:
            config["hpoConfig"] = hpo
        if req.field("performAutoTraining") == "on" and req.field("schedule"):
            config["autoTrainingConfig"] = {"schedulingExpression": req.field("schedule")}
        params = {
            "name": req.field("name"),
            "datasetGroupArn": tree.arn,
            "recipeArn": req.ctx.arns.global_arn("recipe", req.field("recipe")),
            "eventType": req.field("eventType") or None,
            "performHPO": req.field("performHPO") == "on",
            "performAutoTraining": req.field("performAutoTraining") == "on",
            "solutionConfig": config or None,
        }
        out = ops.call(req.ctx, "CreateSolution", params)
        name = str(out["solutionArn"]).rsplit("/", 1)[-1]
        return redirect(group_path(tree.arn, f"/solutions/{name}"), "Solution created.")

    return _create_form(
        req,
        tree,
        "solution_create.html",
        title="Create solution",
        defaults={
            "name": f"{tree.name}-solution-{len(tree.solutions) + 1}",
            "recipe": "aws-user-personalization",
            "performAutoTraining": "",
        },
        submit=submit,
        error_field=_solution_error_field,
        recipes=custom_recipes(),
    )


def _solution_error_field(error: PersonalizeError) -> str | None:
    message = error.message.lower()
    if "hpo" in message:
        return "hpoConfig"
    return "hyperparameters" if "hyperparameter" in message else None


def create_solution_version(req: Req) -> Response:
    group_arn = group_arn_of(req)
    solution_arn = req.field("solutionArn")
    name = solution_arn.rsplit("/", 1)[-1]
    try:
        ops.call(
            req.ctx,
            "CreateSolutionVersion",
            {
                "solutionArn": solution_arn,
                "trainingMode": req.field("trainingMode", "FULL"),
                "name": req.field("name") or None,
            },
        )
    except PersonalizeError as exc:
        return redirect(group_path(group_arn, f"/solutions/{name}"), f"{exc.code}: {exc.message}")
    return redirect(group_path(group_arn, f"/solutions/{name}"), "Training started.")


def create_campaign(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))

    def submit() -> Response:
        config: dict[str, Any] = {}
        exploration = {
            key: req.field(key)
            for key in ("explorationWeight", "explorationItemAgeCutOff")
            if req.field(key)
        }
        if exploration:
            config["itemExplorationConfig"] = exploration
        version = req.field("solutionVersionArn")
        if version.endswith("/$LATEST"):
            config["syncWithLatestSolutionVersion"] = True
        if req.field("enableMetadata") == "on":
            config["enableMetadataWithRecommendations"] = True
        params = {
            "name": req.field("name"),
            "solutionVersionArn": version,
            "minProvisionedTPS": _whole_number(req.field("minProvisionedTPS", "1")),
            "campaignConfig": config or None,
        }
        ops.call(req.ctx, "CreateCampaign", params)
        return redirect(group_path(tree.arn), "Campaign created.")

    return _create_form(
        req,
        tree,
        "campaign_create.html",
        title="Create campaign",
        defaults={
            "name": f"{tree.name}-campaign-{len(tree.campaigns) + 1}",
            "solutionVersionArn": req.query.get("version", ""),
            "minProvisionedTPS": "1",
        },
        submit=submit,
        active_versions=_active_versions(tree),
    )


def create_recommender(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    use_cases = [r for r in catalog.RECIPES if r.domain and r.domain == tree.domain]

    def submit() -> Response:
        rps = _whole_number(req.field("minRecommendationRequestsPerSecond", "1"))
        params = {
            "name": req.field("name"),
            "datasetGroupArn": tree.arn,
            "recipeArn": req.ctx.arns.global_arn("recipe", req.field("recipe")),
            "recommenderConfig": {"minRecommendationRequestsPerSecond": rps},
        }
        ops.call(req.ctx, "CreateRecommender", params)
        return redirect(group_path(tree.arn), "Recommender created.")

    return _create_form(
        req,
        tree,
        "recommender_create.html",
        title="Create recommender",
        defaults={
            "name": f"{tree.name}-{use_cases[0].name.split('-', 2)[-1]}" if use_cases else "",
            "minRecommendationRequestsPerSecond": "1",
        },
        submit=submit,
        use_cases=use_cases,
    )


# -- filters, trackers, batch jobs ----------------------------------------------------------------


def create_filter(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))

    def submit() -> Response:
        params = {
            "name": req.field("name"),
            "datasetGroupArn": tree.arn,
            "filterExpression": req.field("filterExpression"),
        }
        ops.call(req.ctx, "CreateFilter", params)
        return redirect(group_path(tree.arn), "Filter created.")

    return _create_form(
        req,
        tree,
        "filter_create.html",
        title="Create filter",
        defaults={"name": f"{tree.name}-filter-{len(tree.filters) + 1}"},
        submit=submit,
        error_field=_filter_error_field,
        examples=FILTER_EXAMPLES,
    )


def _filter_error_field(error: PersonalizeError) -> str | None:
    """Every error but one about the name is about the expression."""
    name_problem = "'name'" in error.message or "name " in error.message.lower()[:40]
    return None if name_problem else "filterExpression"


def create_event_tracker(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))

    def submit() -> Response:
        params = {"name": req.field("name"), "datasetGroupArn": tree.arn}
        ops.call(req.ctx, "CreateEventTracker", params)
        return redirect(group_path(tree.arn), "Event tracker created.")

    return _create_form(
        req,
        tree,
        "tracker_create.html",
        title="Create event tracker",
        defaults={"name": f"{tree.name}-tracker"},
        submit=submit,
    )


def create_batch_job(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    segment = "/batch-segment-jobs/" in req.request.url.path
    kind = "segment" if segment else "inference"

    def submit() -> Response:
        params = {
            "jobName": req.field("jobName"),
            "solutionVersionArn": req.field("solutionVersionArn"),
            "filterArn": req.field("filterArn") or None,
            "numResults": _whole_number(req.field("numResults", "25")),
            "jobInput": {"s3DataSource": {"path": req.field("inputPath")}},
            "jobOutput": {"s3DataDestination": {"path": req.field("outputPath")}},
            "roleArn": req.field("roleArn") or role_arn(req.ctx),
        }
        ops.call(req.ctx, "CreateBatchSegmentJob" if segment else "CreateBatchInferenceJob", params)
        return redirect(group_path(tree.arn), f"Batch {kind} job created.")

    return _create_form(
        req,
        tree,
        "batch_create.html",
        title=f"Create batch {kind} job",
        defaults={
            "jobName": f"{tree.name}-batch-{kind}-{len(tree.batch_jobs) + 1}",
            "numResults": "25",
            "roleArn": role_arn(req.ctx),
            "solutionVersionArn": req.query.get("version", ""),
        },
        submit=submit,
        segment=segment,
        active_versions=_active_versions(tree),
    )


def _active_versions(tree: GroupTree) -> list[dict[str, Any]]:
    return [v for v in tree.versions if v.get("status") == lifecycle.ACTIVE]


def _whole_number(text: str) -> int | str:
    """Digits as an int; anything else as it is, so that validation names the field."""
    return int(text) if text.isdigit() else text
