"""The two workflows of ``openpersonalize demo``, step by step through boto3 clients.

Custom (preset ``custom``, films with ``click`` / ``watch`` events): schemas → dataset group →
datasets → import jobs → event tracker → solutions (aws-user-personalization-v2 and aws-sims) →
solution versions → GetSolutionMetrics → campaigns → filter → recommendations → PutEvents.

Domain (preset ``ecommerce``): schemas (domain ECOMMERCE) → dataset group → datasets → import
jobs → recommenders ("Recommended for you", "Customers who viewed X also viewed") → their
``modelMetrics`` → recommendations.

Long-running resources of one step are created together and then polled, so that jobs can run
side by side when the server has more than one worker.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from openpersonalize.datasets import SyntheticDataset, generate, write

RECIPE = "arn:aws:personalize:::recipe/"
# Import jobs name a role, as on AWS; openpersonalize records it and never assumes it.
ROLE_ARN = "arn:aws:iam::123456789012:role/openpersonalize-demo"
DATASET_TYPES = {"interactions": "Interactions", "items": "Items", "users": "Users"}
FAILED = ("CREATE FAILED", "CREATE STOPPED", "FAILED")
WAIT_SECONDS = 900.0
POLL_SECONDS = 0.25
SHOWN = 10  # recommendations printed per list
METRICS = (
    ("coverage", "coverage"),
    ("mean_reciprocal_rank_at_25", "MRR@25"),
    ("normalized_discounted_cumulative_gain_at_10", "NDCG@10"),
    ("normalized_discounted_cumulative_gain_at_25", "NDCG@25"),
    ("precision_at_10", "P@10"),
)


class DemoError(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True)
class Size:
    n_users: int
    n_items: int
    n_interactions: int


@dataclass
class DemoRun:
    """What the workflows share: the endpoint, the clients, where the CSV files go."""

    endpoint_url: str
    input_dir: Path
    size: Size
    seed: int
    console: Console
    clients: dict[str, Any] = field(default_factory=dict)
    metrics: list[tuple[str, str, dict[str, float]]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            session = boto3.session.Session()
            credentials = session.get_credentials()
            # A loopback server accepts any credentials; use the caller's when they have some
            # (a server with access keys verifies them).
            keys = (
                {}
                if credentials is not None
                else {"aws_access_key_id": "demo", "aws_secret_access_key": "demo"}
            )
            self.clients[service] = session.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=session.region_name or "us-east-1",
                config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"}),
                **keys,
            )
        return self.clients[service]


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


class Steps:
    """One progress bar per step; asynchronous resources are polled until ACTIVE."""

    def __init__(self, progress: Progress, personalize: Any) -> None:
        self.progress = progress
        self.personalize = personalize

    def start(self, title: str, total: int) -> TaskID:
        return self.progress.add_task(title, total=total, status="")

    def done(self, task: TaskID, status: str = "done") -> None:
        total = self.progress.tasks[task].total or 1
        self.progress.update(task, completed=total, status=status)

    def create(
        self, title: str, kind: str, requests: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Create resources of one ``kind`` (``datasetGroup``, ``solutionVersion`` …), one per
        label → request parameters, then poll their Describe until every one is ACTIVE.

        Returns label → the Describe output. Personalize names its operations regularly:
        ``create_<kind>`` answers ``<kind>Arn``, ``describe_<kind>(<kind>Arn=…)`` answers
        ``{<kind>: {..., "status": …}}``; schemas have no status and are returned as created.
        """
        task = self.start(title, len(requests))
        create = getattr(self.personalize, f"create_{_snake(kind)}")
        arns = {}
        for label, request in requests.items():
            self.progress.update(task, status=f"create {label}")
            arns[label] = str(checked(label, create, **request)[f"{kind}Arn"])
        if kind == "schema":
            self.done(task, ", ".join(requests))
            return {label: {"schemaArn": arn} for label, arn in arns.items()}
        describe = getattr(self.personalize, f"describe_{_snake(kind)}")
        results: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            waiting = []
            for label, arn in arns.items():
                if label in results:
                    continue
                resource = dict(checked(label, describe, **{f"{kind}Arn": arn})[kind])
                status = str(resource.get("status", ""))
                if status in FAILED:
                    reason = resource.get("failureReason", "no reason given")
                    raise DemoError(f"{label} is {status}: {reason}")
                if status == "ACTIVE":
                    results[label] = resource
                    self.progress.advance(task)
                else:
                    waiting.append(f"{label} {status}")
            if not waiting:
                self.done(task, "ACTIVE")
                return {label: results[label] for label in arns}
            self.progress.update(task, status=", ".join(waiting))
            if time.monotonic() > deadline:
                raise DemoError(f"still waiting after {WAIT_SECONDS:.0f} s: {', '.join(waiting)}")
            time.sleep(POLL_SECONDS)


def checked(label: str, call: Callable[..., Any], **params: Any) -> Any:
    """``call(**params)``, with an AWS error turned into a DemoError naming the step."""
    try:
        return call(**params)
    except (ClientError, BotoCoreError) as exc:
        raise DemoError(f"{label}: {exc}") from None


@contextmanager
def _progress(demo: DemoRun) -> Iterator[Steps]:
    progress = Progress(
        SpinnerColumn(finished_text="[green]✓[/]"),
        TextColumn("{task.description:<20}"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[status]}[/]"),
        console=demo.console,
    )
    with progress:
        yield Steps(progress, demo.client("personalize"))


# --- data ------------------------------------------------------------------------------------


@dataclass
class GroupData:
    """A generated dataset group: its CSV files and, in memory, the rows the demo looks at."""

    dataset: SyntheticDataset
    paths: dict[str, Path]
    interactions: pa.Table
    items: pa.Table

    def names(self, name_column: str) -> dict[str, str]:
        ids = self.items.column("ITEM_ID").to_pylist()
        return dict(zip(ids, self.items.column(name_column).to_pylist(), strict=True))

    def history(self, user_id: str) -> list[str]:
        """The user's items, oldest first."""
        rows = self.interactions.filter(pc.equal(self.interactions["USER_ID"], user_id))
        order = pc.sort_indices(rows["TIMESTAMP"])
        return [str(i) for i in rows.take(order).column("ITEM_ID").to_pylist()]

    def sample_user(self, target: int = 20) -> str:
        """A deterministic user with a history of about ``target`` events."""
        counts = Counter(self.interactions.column("USER_ID").to_pylist())
        return str(min(counts, key=lambda u: (abs(counts[u] - target), int(u))))

    @cached_property
    def genres(self) -> dict[str, set[str]]:
        """Item id → its genres (the ``|``-separated GENRES column of the custom preset)."""
        ids = self.items.column("ITEM_ID").to_pylist()
        values = self.items.column("GENRES").to_pylist()
        return {str(i): set(str(v or "").split("|")) for i, v in zip(ids, values, strict=True)}

    def popular_items(self) -> list[str]:
        counts = Counter(self.interactions.column("ITEM_ID").to_pylist())
        return [str(i) for i, _ in counts.most_common()]


def _generate(demo: DemoRun, steps: Steps, preset: str, noun: str) -> GroupData:
    task = steps.start("Synthetic data", 1)
    size = demo.size
    dataset = generate(
        preset,
        n_users=size.n_users,
        n_items=size.n_items,
        n_interactions=size.n_interactions,
        seed=demo.seed,
    )
    paths = write(dataset, demo.input_dir / preset, "csv")
    data = GroupData(dataset, paths, dataset.to_table("interactions"), dataset.to_table("items"))
    steps.done(
        task,
        f"{data.interactions.num_rows:,} interactions, {data.items.num_rows:,} {noun}, "
        f"{size.n_users:,} users",
    )
    return data


def _dataset_group(steps: Steps, name: str, data: GroupData, domain: str | None) -> str:
    """Schemas, the dataset group, its three datasets and their FULL import jobs."""
    domain_args = {"domain": domain} if domain else {}
    schemas = steps.create(
        "Schemas",
        "schema",
        {
            kind: {"name": f"{name}-{kind}", "schema": data.dataset.schemas[kind], **domain_args}
            for kind in DATASET_TYPES
        },
    )
    group = steps.create("Dataset group", "datasetGroup", {name: {"name": name, **domain_args}})
    group_arn = str(group[name]["datasetGroupArn"])
    datasets = steps.create(
        "Datasets",
        "dataset",
        {
            kind: {
                "name": f"{name}-{kind}",
                "datasetGroupArn": group_arn,
                "datasetType": dataset_type,
                "schemaArn": schemas[kind]["schemaArn"],
            }
            for kind, dataset_type in DATASET_TYPES.items()
        },
    )
    steps.create(
        "Import jobs",
        "datasetImportJob",
        {
            kind: {
                "jobName": f"{name}-{kind}-import",
                "datasetArn": datasets[kind]["datasetArn"],
                "dataSource": {"dataLocation": str(data.paths[kind])},
                "roleArn": ROLE_ARN,
                "importMode": "FULL",
            }
            for kind in DATASET_TYPES
        },
    )
    return group_arn


# --- output ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """How a list of recommendations is printed: which Items columns, which to call the name."""

    name_column: str
    category_column: str


def _recommendation_table(
    title: str, response: dict[str, Any], shown: Shown, marks: dict[str, str] | None = None
) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("ITEM_ID", justify="right")
    table.add_column(shown.name_column, overflow="fold")
    table.add_column(shown.category_column, overflow="fold")
    table.add_column("score", justify="right", no_wrap=True)
    if marks is not None:
        table.add_column("", no_wrap=True)
    for rank, item in enumerate(response.get("itemList", [])[:SHOWN], start=1):
        metadata = item.get("metadata", {})
        score = item.get("score")
        row = [
            str(rank),
            str(item["itemId"]),
            metadata.get(shown.name_column, ""),
            metadata.get(shown.category_column, ""),
            f"{score:.4f}" if isinstance(score, float) else "–",
        ]
        if marks is not None:
            row.append(marks.get(str(item["itemId"]), ""))
        table.add_row(*row)
    return table


def _history_line(data: GroupData, user_id: str, names: Mapping[str, str], n: int = 4) -> str:
    """The user's newest ``n`` distinct items, newest first."""
    recent = list(dict.fromkeys(reversed(data.history(user_id))))[:n]
    return "; ".join(f"{names.get(i, i)} ({i})" for i in recent)


def _seen_marks(data: GroupData, user_id: str, verb: str) -> dict[str, str]:
    return {item: f"[dim]{verb}[/]" for item in data.history(user_id)}


def print_metrics(demo: DemoRun) -> None:
    table = Table(
        title="Offline metrics (Personalize split: 10 % of users held out)",
        title_justify="left",
    )
    table.add_column("model (recipe or use case)", overflow="fold")
    for _, header in METRICS:
        table.add_column(header, justify="right", no_wrap=True)
    for model, recipe, metrics in demo.metrics:
        table.add_row(
            f"{model}\n[dim]{recipe}[/]",
            *(f"{metrics[key]:.4f}" if key in metrics else "–" for key, _ in METRICS),
        )
    demo.console.print(table)


# --- the custom workflow ---------------------------------------------------------------------


def custom_workflow(demo: DemoRun, name: str) -> None:
    console = demo.console
    console.rule(f"[bold]Custom workflow[/] — dataset group {name}")
    recipes = {"personalize": "aws-user-personalization-v2", "related": "aws-sims"}
    expression = "INCLUDE ItemID WHERE Items.GENRES IN ($GENRES)"
    with _progress(demo) as steps:
        data = _generate(demo, steps, "custom", "films")
        group_arn = _dataset_group(steps, name, data, None)
        tracker = steps.create(
            "Event tracker",
            "eventTracker",
            {"tracker": {"name": f"{name}-tracker", "datasetGroupArn": group_arn}},
        )["tracker"]
        solutions = steps.create(
            "Solutions",
            "solution",
            {
                recipe: {
                    "name": f"{name}-{role}",
                    "datasetGroupArn": group_arn,
                    "recipeArn": RECIPE + recipe,
                    "performAutoTraining": False,
                }
                for role, recipe in recipes.items()
            },
        )
        versions = steps.create(
            "Solution versions",
            "solutionVersion",
            {
                recipe: {"solutionArn": solution["solutionArn"], "trainingMode": "FULL"}
                for recipe, solution in solutions.items()
            },
        )
        task = steps.start("Offline metrics", len(versions))
        for recipe, version in versions.items():
            arn = version["solutionVersionArn"]
            metrics = checked(
                recipe, steps.personalize.get_solution_metrics, solutionVersionArn=arn
            )
            demo.metrics.append((solutions[recipe]["name"], recipe, dict(metrics["metrics"])))
            steps.progress.advance(task)
        steps.done(task)
        campaigns = steps.create(
            "Campaigns",
            "campaign",
            {
                recipe: {
                    "name": solutions[recipe]["name"],
                    "solutionVersionArn": version["solutionVersionArn"],
                    "minProvisionedTPS": 1,
                    "campaignConfig": {"enableMetadataWithRecommendations": True},
                }
                for recipe, version in versions.items()
            },
        )
        filter_arn = steps.create(
            "Filter",
            "filter",
            {
                "by-genre": {
                    "name": f"{name}-by-genre",
                    "datasetGroupArn": group_arn,
                    "filterExpression": expression,
                }
            },
        )["by-genre"]["filterArn"]

    runtime = demo.client("personalize-runtime")
    shown = Shown("TITLE", "GENRES")
    personalize_arn = campaigns[recipes["personalize"]]["campaignArn"]
    related_arn = campaigns[recipes["related"]]["campaignArn"]

    def recommend(**params: Any) -> dict[str, Any]:
        return dict(
            checked(
                "GetRecommendations",
                runtime.get_recommendations,
                numResults=25,
                metadataColumns={"ITEMS": ["TITLE", "GENRES"]},
                **params,
            )
        )

    user_id = data.sample_user()
    history = data.history(user_id)
    item_id = history[-1]
    names = data.names("TITLE")
    console.print(
        f"\nUser [bold]{user_id}[/] recently watched: {_history_line(data, user_id, names)}"
    )
    before = recommend(campaignArn=personalize_arn, userId=user_id)
    console.print(
        "Personalize recommends items a user already had unless a filter excludes them "
        '(for example EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")).'
    )
    console.print(
        _recommendation_table(
            f"Recommendations for user {user_id} ({recipes['personalize']})",
            before,
            shown,
            _seen_marks(data, user_id, "watched"),
        )
    )
    related = recommend(campaignArn=related_arn, itemId=item_id)
    console.print(
        _recommendation_table(
            f"Related to {names.get(item_id, item_id)!r} (item {item_id}, {recipes['related']})",
            related,
            shown,
        )
    )

    genre = _absent_genre(before, data)
    filtered = recommend(
        campaignArn=personalize_arn,
        userId=user_id,
        filterArn=filter_arn,
        filterValues={"GENRES": json.dumps(genre)},
    )
    console.print(
        _recommendation_table(
            f"Filtered: {expression}  with GENRES = {json.dumps(genre)}", filtered, shown
        )
    )

    watched = set(history)
    picks = [i for i in data.popular_items() if i not in watched and genre in data.genres[i]][:5]
    now = time.time()
    checked(
        "PutEvents",
        demo.client("personalize-events").put_events,
        trackingId=str(tracker["trackingId"]),
        userId=user_id,
        sessionId=f"demo-session-{user_id}",
        eventList=[
            {"eventType": "watch", "itemId": item, "eventValue": 1.0, "sentAt": now - 5 + k}
            for k, item in enumerate(picks)
        ],
    )
    after = recommend(campaignArn=personalize_arn, userId=user_id)
    _print_change(console, before, after, shown, user_id, genre, picks, names, data)


def _absent_genre(response: dict[str, Any], data: GroupData) -> str:
    """The catalogue's most common genre that is rarest in these recommendations."""
    index = data.genres
    catalogue = Counter(g for genres in index.values() for g in genres if g)
    shown = Counter(
        g for item in response.get("itemList", [])[:SHOWN] for g in index.get(item["itemId"], ())
    )
    return min(catalogue, key=lambda g: (shown[g], -catalogue[g], g))


def _print_change(
    console: Console,
    before: dict[str, Any],
    after: dict[str, Any],
    shown: Shown,
    user_id: str,
    genre: str,
    picks: list[str],
    names: dict[str, str],
    data: GroupData,
) -> None:
    old = [i["itemId"] for i in before.get("itemList", [])[:SHOWN]]
    new = [i["itemId"] for i in after.get("itemList", [])[:SHOWN]]
    marks = {}
    for rank, item in enumerate(new):
        if item in picks:
            marks[item] = "[cyan]just watched[/]"
        elif item not in old:
            marks[item] = "[green]new[/]"
        elif old.index(item) > rank:
            marks[item] = f"[green]↑{old.index(item) - rank}[/]"
        elif old.index(item) < rank:
            marks[item] = f"[red]↓{rank - old.index(item)}[/]"
    watched = "; ".join(names.get(i, i) for i in picks)
    console.print(
        f"\nPutEvents: user {user_id} watches {len(picks)} {genre} films ({watched}). "
        "No retraining: the campaign folds the new events in at request time."
    )
    console.print(
        _recommendation_table(
            f"GetRecommendations(userId={user_id!r}) after PutEvents", after, shown, marks
        )
    )
    index = data.genres
    count_before = sum(genre in index.get(i, ()) for i in old)
    count_after = sum(genre in index.get(i, ()) for i in new)
    entered = sum(1 for i in new if i not in old)
    console.print(
        f"{entered} of the top {SHOWN} are new; {genre} films in the top {SHOWN}: "
        f"{count_before} → {count_after}."
    )


# --- the domain workflow ---------------------------------------------------------------------


def domain_workflow(demo: DemoRun, name: str) -> None:
    console = demo.console
    console.rule(f"[bold]Domain workflow (ECOMMERCE)[/] — dataset group {name}")
    use_cases = {
        "for-you": "aws-ecomm-recommended-for-you",
        "also-viewed": "aws-ecomm-customers-who-viewed-x-also-viewed",
    }
    with _progress(demo) as steps:
        data = _generate(demo, steps, "ecommerce", "products")
        group_arn = _dataset_group(steps, name, data, "ECOMMERCE")
        recommenders = steps.create(
            "Recommenders",
            "recommender",
            {
                role: {
                    "name": f"{name}-{role}",
                    "datasetGroupArn": group_arn,
                    "recipeArn": RECIPE + recipe,
                    "recommenderConfig": {"enableMetadataWithRecommendations": True},
                }
                for role, recipe in use_cases.items()
            },
        )
    for role, recommender in recommenders.items():
        metrics = dict(recommender.get("modelMetrics", {}))
        demo.metrics.append((recommender["name"], use_cases[role], metrics))

    runtime = demo.client("personalize-runtime")
    shown = Shown("PRODUCT_NAME", "CATEGORY_L2")

    def recommend(role: str, **params: Any) -> dict[str, Any]:
        return dict(
            checked(
                "GetRecommendations",
                runtime.get_recommendations,
                recommenderArn=recommenders[role]["recommenderArn"],
                numResults=25,
                metadataColumns={"ITEMS": ["PRODUCT_NAME", "CATEGORY_L2"]},
                **params,
            )
        )

    user_id = data.sample_user()
    item_id = data.history(user_id)[-1]
    names = data.names("PRODUCT_NAME")
    console.print(
        f"\nUser [bold]{user_id}[/] recently viewed: {_history_line(data, user_id, names)}"
    )
    for_you = recommend("for-you", userId=user_id)
    marks = _seen_marks(data, user_id, "viewed")
    console.print(
        _recommendation_table(f"Recommended for you (user {user_id})", for_you, shown, marks)
    )
    also = recommend("also-viewed", userId=user_id, itemId=item_id)
    title = f"Customers who viewed {names.get(item_id, item_id)!r} (item {item_id}) also viewed"
    console.print(_recommendation_table(title, also, shown))


# --- both ------------------------------------------------------------------------------------


def run_name(demo: DemoRun) -> str:
    """``demo``, or ``demo-2``, ``demo-3`` … when an earlier run's dataset groups exist."""
    p = demo.client("personalize")
    existing: set[str] = set()
    for page in p.get_paginator("list_dataset_groups").paginate():
        existing.update(g["name"] for g in page.get("datasetGroups", []))
    n = 1
    while True:
        base = "demo" if n == 1 else f"demo-{n}"
        if not {f"{base}-custom", f"{base}-ecommerce"} & existing:
            return base
        n += 1


def run_workflows(demo: DemoRun) -> None:
    base = checked("ListDatasetGroups", run_name, demo=demo)
    custom_workflow(demo, f"{base}-custom")
    domain_workflow(demo, f"{base}-ecommerce")
    demo.console.print()
    print_metrics(demo)
