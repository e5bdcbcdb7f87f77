"""Create forms, following the AWS console workflows. Each calls the API operation in-process and,
on failure, shows the operation's own error code and message next to the input that caused it."""

from __future__ import annotations

import json
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


class FormErrors:
    """The error of a submission: shown at the top, and beside ``field`` when it names one."""

    def __init__(self) -> None:
        self.error: PersonalizeError | None = None
        self.field: str | None = None

    def set(self, error: PersonalizeError, field: str | None = None) -> None:
        self.error = error
        self.field = field

    @property
    def status(self) -> int:
        return 400 if self.error else 200


def _form(req: Req, template: str, tree: GroupTree, errors: FormErrors, **context: Any) -> Response:
    return render(
        req,
        template,
        errors.status,
        tree=tree,
        error=errors.error,
        error_field=errors.field,
        values=context.pop("values", req.form),
        current_group=tree.name,
        section="overview",
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
    errors = FormErrors()
    values = dict(req.form)
    if req.method == "POST":
        try:
            if req.field("schemaSource") == "existing":
                schema_arn = req.field("schemaArn")
            else:
                try:
                    schema_arn = _schema_arn(
                        req.ctx, req.field("schemaName"), req.form.get("schema", ""), tree.domain
                    )
                except PersonalizeError as exc:
                    errors.set(exc, "schema")
                    raise
            params = {
                "name": req.field("name"),
                "schemaArn": schema_arn,
                "datasetGroupArn": tree.arn,
                "datasetType": WIRE_TYPE[dataset_type],
            }
            ops.call(req.ctx, "CreateDataset", params)
            return redirect(group_path(tree.arn), f"{dataset_type} dataset created.")
        except PersonalizeError as exc:
            if errors.error is None:
                errors.set(exc, "schema" if "schema" in exc.message.lower() else None)
    else:
        values = {
            "datasetType": dataset_type,
            "name": f"{tree.name}-{dataset_type.lower()}",
            "schemaName": f"{tree.name}-{dataset_type.lower()}-schema",
            "schema": schema_template(tree.domain, dataset_type),
            "schemaSource": "new",
        }
    return _form(
        req,
        "dataset_create.html",
        tree,
        errors,
        title="Create dataset",
        values=values,
        dataset_types=DATASET_TYPES,
        schemas=schemas,
        templates={t: schema_template(tree.domain, t) for t in DATASET_TYPES},
    )


def create_import_job(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    errors = FormErrors()
    values = dict(req.form)
    if req.method == "POST":
        try:
            ops.call(
                req.ctx,
                "CreateDatasetImportJob",
                {
                    "jobName": req.field("jobName"),
                    "datasetArn": req.field("datasetArn"),
                    "dataSource": {"dataLocation": req.field("dataLocation")},
                    "importMode": req.field("importMode", "FULL"),
                    "roleArn": req.field("roleArn") or None,
                },
            )
            return redirect(group_path(tree.arn), "Import job created.")
        except PersonalizeError as exc:
            field = "dataLocation" if "location" in exc.message.lower() else None
            errors.set(exc, field)
    else:
        dataset = req.query.get("dataset", "")
        values = {
            "datasetArn": dataset,
            "jobName": f"{tree.name}-import-{len(tree.import_jobs) + 1}",
            "importMode": "FULL",
        }
    return _form(req, "import_create.html", tree, errors, title="Import data", values=values)


# -- solutions, versions, campaigns ---------------------------------------------------------------


def custom_recipes() -> list[catalog.Recipe]:
    return [r for r in catalog.RECIPES if not r.domain and not r.legacy]


def create_solution(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    errors = FormErrors()
    values = dict(req.form)
    if req.method == "POST":
        try:
            try:
                hyper = _json_object(req.form.get("hyperparameters", ""), "Hyperparameters")
            except PersonalizeError as exc:
                errors.set(exc, "hyperparameters")
                raise
            try:
                hpo = _json_object(req.form.get("hpoConfig", ""), "HPO configuration")
            except PersonalizeError as exc:
                errors.set(exc, "hpoConfig")
                raise
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
        except PersonalizeError as exc:
            if errors.error is None:
                message = exc.message.lower()
                field = "hyperparameters" if "hyperparameter" in message else None
                errors.set(exc, "hpoConfig" if "hpo" in message else field)
    else:
        values = {
            "name": f"{tree.name}-solution-{len(tree.solutions) + 1}",
            "recipe": "aws-user-personalization",
            "performAutoTraining": "",
        }
    return _form(
        req,
        "solution_create.html",
        tree,
        errors,
        title="Create solution",
        values=values,
        recipes=custom_recipes(),
    )


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
    errors = FormErrors()
    values = dict(req.form)
    if req.method == "POST":
        try:
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
            tps = req.field("minProvisionedTPS", "1")
            params = {
                "name": req.field("name"),
                "solutionVersionArn": version,
                "minProvisionedTPS": int(tps) if tps.isdigit() else tps,
                "campaignConfig": config or None,
            }
            ops.call(req.ctx, "CreateCampaign", params)
            return redirect(group_path(tree.arn), "Campaign created.")
        except PersonalizeError as exc:
            errors.set(exc)
    else:
        values = {
            "name": f"{tree.name}-campaign-{len(tree.campaigns) + 1}",
            "solutionVersionArn": req.query.get("version", ""),
            "minProvisionedTPS": "1",
        }
    active = [v for v in tree.versions if v.get("status") == lifecycle.ACTIVE]
    return _form(
        req,
        "campaign_create.html",
        tree,
        errors,
        title="Create campaign",
        values=values,
        active_versions=active,
    )


def create_recommender(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    errors = FormErrors()
    values = dict(req.form)
    use_cases = [r for r in catalog.RECIPES if r.domain and r.domain == tree.domain]
    if req.method == "POST":
        try:
            rps = req.field("minRecommendationRequestsPerSecond", "1")
            params = {
                "name": req.field("name"),
                "datasetGroupArn": tree.arn,
                "recipeArn": req.ctx.arns.global_arn("recipe", req.field("recipe")),
                "recommenderConfig": {
                    "minRecommendationRequestsPerSecond": int(rps) if rps.isdigit() else rps
                },
            }
            ops.call(req.ctx, "CreateRecommender", params)
            return redirect(group_path(tree.arn), "Recommender created.")
        except PersonalizeError as exc:
            errors.set(exc)
    else:
        values = {
            "name": f"{tree.name}-{use_cases[0].name.split('-', 2)[-1]}" if use_cases else "",
            "minRecommendationRequestsPerSecond": "1",
        }
    return _form(
        req,
        "recommender_create.html",
        tree,
        errors,
        title="Create recommender",
        values=values,
        use_cases=use_cases,
    )


# -- filters, trackers, batch jobs ----------------------------------------------------------------


def create_filter(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    errors = FormErrors()
    values = dict(req.form)
    if req.method == "POST":
        try:
            params = {
                "name": req.field("name"),
                "datasetGroupArn": tree.arn,
                "filterExpression": req.field("filterExpression"),
            }
            ops.call(req.ctx, "CreateFilter", params)
            return redirect(group_path(tree.arn), "Filter created.")
        except PersonalizeError as exc:
            name_problem = "'name'" in exc.message or "name " in exc.message.lower()[:40]
            errors.set(exc, None if name_problem else "filterExpression")
    else:
        values = {"name": f"{tree.name}-filter-{len(tree.filters) + 1}"}
    return _form(
        req,
        "filter_create.html",
        tree,
        errors,
        title="Create filter",
        values=values,
        examples=FILTER_EXAMPLES,
    )


def create_event_tracker(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    errors = FormErrors()
    values = dict(req.form)
    if req.method == "POST":
        try:
            ops.call(
                req.ctx,
                "CreateEventTracker",
                {"name": req.field("name"), "datasetGroupArn": tree.arn},
            )
            return redirect(group_path(tree.arn), "Event tracker created.")
        except PersonalizeError as exc:
            errors.set(exc)
    else:
        values = {"name": f"{tree.name}-tracker"}
    return _form(
        req, "tracker_create.html", tree, errors, title="Create event tracker", values=values
    )


def create_batch_job(req: Req) -> Response:
    tree = load_group(req.ctx, group_arn_of(req))
    segment = "/batch-segment-jobs/" in req.request.url.path
    operation = "CreateBatchSegmentJob" if segment else "CreateBatchInferenceJob"
    errors = FormErrors()
    values = dict(req.form)
    if req.method == "POST":
        try:
            results = req.field("numResults", "25")
            params = {
                "jobName": req.field("jobName"),
                "solutionVersionArn": req.field("solutionVersionArn"),
                "filterArn": req.field("filterArn") or None,
                "numResults": int(results) if results.isdigit() else results,
                "jobInput": {"s3DataSource": {"path": req.field("inputPath")}},
                "jobOutput": {"s3DataDestination": {"path": req.field("outputPath")}},
                "roleArn": req.field("roleArn") or role_arn(req.ctx),
            }
            ops.call(req.ctx, operation, params)
            noun = "Batch segment job" if segment else "Batch inference job"
            return redirect(group_path(tree.arn), f"{noun} created.")
        except PersonalizeError as exc:
            errors.set(exc)
    else:
        kind = "segment" if segment else "inference"
        values = {
            "jobName": f"{tree.name}-batch-{kind}-{len(tree.batch_jobs) + 1}",
            "numResults": "25",
            "roleArn": role_arn(req.ctx),
            "solutionVersionArn": req.query.get("version", ""),
        }
    active = [v for v in tree.versions if v.get("status") == lifecycle.ACTIVE]
    return _form(
        req,
        "batch_create.html",
        tree,
        errors,
        title="Create batch segment job" if segment else "Create batch inference job",
        values=values,
        segment=segment,
        active_versions=active,
    )
