"""The ``batch-segment-job`` job: user segments from aws-item-affinity and
aws-item-attribute-affinity solution versions (spec §1.18, §8.2).

Input lines:

* aws-item-affinity: ``{"itemId": "105"}`` — the users most likely to interact with the item;
* aws-item-attribute-affinity: ``{"itemAttributes": "ITEMS.GENRE = \\"Comedy\\" AND …"}`` — the
  users most likely to interact with items that have every attribute (query syntax in
  :mod:`.segment_queries`);

each optionally with ``"filterValues"`` for the job's UserID ``filterArn``. Output lines are
``{"input": …, "output": {"usersList": [...]}, "error": null}`` with ``numResults`` users, best
first. The developer guide's example shows ``recommendedUsers`` where client code reads
``usersList`` (spec client-expectations, "Batch jobs"); the clients win.

Per-file query limits (AWS: 500 lines for Item-Affinity, 10 for Item-Attribute-Affinity;
settings ``max_item_affinity_queries`` / ``max_item_attribute_affinity_queries``) fail the job
before any line is answered, naming the file. Items and attribute values must have been seen at
training time; a line that names an unknown one gets an ``error``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.engine.base import FloatArray
from openpersonalize.engine.recipes.item_affinity import ItemAffinity
from openpersonalize.engine.recipes.item_attribute_affinity import ItemAttributeAffinity
from openpersonalize.errors import PersonalizeError
from openpersonalize.filtering import (
    CategoricalColumn,
    Dataset,
    FilterData,
    NumericColumn,
    ValidatedFilter,
    bind,
    compile_mask,
)
from openpersonalize.jobs import runner
from openpersonalize.jobs.batch_inference import deployment
from openpersonalize.jobs.batch_io import Answer, Line, LineError, answer, open_batch, run_files
from openpersonalize.jobs.segment_queries import AttributeCondition, QueryError, parse_query
from openpersonalize.serving.cache import GroupData, serving_cache
from openpersonalize.serving.selection import top_k
from openpersonalize.store.metadata import Job
from openpersonalize.store.objects import ObjectInfo

KIND = "batch-segment-job"
CHUNK_LINES = 64
ITEM_AFFINITY = "aws-item-affinity"
ATTRIBUTE_AFFINITY = "aws-item-attribute-affinity"

BoolArray = npt.NDArray[np.bool_]


def user_event_types(group: GroupData, model: ItemAffinity) -> CategoricalColumn:
    """The event types each model user has in the bulk history: one row per model user."""
    hist = group.history
    positions = hist.users.indices(model.users.ids())
    counts = np.diff(hist.indptr)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    pairs = np.unique(owner * (len(hist.event_types) + 1) + (hist.type_code + 1))
    by_user: dict[int, list[str]] = {}
    for key in pairs.tolist():
        user, code = divmod(key, len(hist.event_types) + 1)
        if code > 0:
            by_user.setdefault(user, []).append(hist.event_types[code - 1])
    return CategoricalColumn.from_rows(by_user.get(int(p), []) if p >= 0 else [] for p in positions)


def _row(matrix: FloatArray) -> FloatArray:
    row: FloatArray = np.array(matrix[0], dtype=np.float32)
    return row


class SegmentJob:
    """Answers chunks of segment queries for one job."""

    def __init__(
        self,
        ctx: Context,
        model: ItemAffinity,
        recipe_name: str,
        group: GroupData,
        body: Mapping[str, Any],
        validated: ValidatedFilter | None,
    ) -> None:
        self.ctx, self.model, self.recipe_name, self.group = ctx, model, recipe_name, group
        self.n_results = int(body.get("numResults") or 25)
        self.validated = validated
        self._filter_data: FilterData | None = None
        self._masks: dict[tuple[tuple[str, str], ...], BoolArray] = {}

    # -- users filter ----------------------------------------------------------------------------

    def filter_data(self) -> FilterData:
        if self._filter_data is None:
            users = self.model.users
            attributes = {}
            if self.group.users is not None:
                attributes = dict(self.group.users.aligned(users).columns)
            self._filter_data = FilterData(
                n_candidates=len(users),
                attributes=attributes,
                candidate_index=users,
                candidate_event_types=user_event_types(self.group, self.model),
            )
        return self._filter_data

    def user_mask(self, values: Mapping[str, str] | None) -> BoolArray | None:
        if self.validated is None:
            return None
        key = tuple(sorted((values or {}).items()))
        mask = self._masks.get(key)
        if mask is None:
            mask = compile_mask(bind(self.validated, values), self.filter_data())
            if len(self._masks) < 1024:
                self._masks[key] = mask
        return mask

    # -- queries ---------------------------------------------------------------------------------

    def item_scores(self, item_id: str) -> FloatArray:
        idx = self.model.items.index(item_id)
        if idx < 0:
            raise LineError(
                f"Item {item_id} was not in the training data of this solution version."
            )
        return _row(self.model.score_users_for_items(np.asarray([idx], dtype=np.int64)))

    def _items_matching(self, condition: AttributeCondition) -> BoolArray:
        """Model items whose Items row satisfies ``condition``: bool (n_model_items,)."""
        items = self.group.items
        if items is None:
            raise LineError("The dataset group has no Items dataset.")
        name = items.column_names.get(condition.column.upper())
        if name is None:
            raise LineError(f"ITEMS.{condition.column} is not a column of the Items schema.")
        column = items.columns.get(name)
        if column is None:
            raise LineError(f"ITEMS.{condition.column} is a textual or boolean column.")
        if isinstance(column, NumericColumn):
            try:
                wanted = np.asarray([float(v) for v in condition.values], dtype=np.float64)
            except ValueError:
                raise LineError(f"ITEMS.{condition.column} is numeric; give numbers.") from None
            rows = np.isin(column.values, wanted)
        else:
            keys = {str(v).strip().lower() for v in condition.values}
            codes = [c for value, c in column.code_of.items() if value.strip().lower() in keys]
            hit = np.isin(column.codes, np.asarray(codes, dtype=np.int64))
            owner = np.repeat(np.arange(column.n_rows), np.diff(column.indptr))
            rows = np.zeros(column.n_rows, dtype=np.bool_)
            rows[owner[hit]] = True
        model_idx = self.model.items.indices(items.ids.ids(np.flatnonzero(rows)))
        mask = np.zeros(len(self.model.items), dtype=np.bool_)
        mask[model_idx[model_idx >= 0]] = True
        return mask

    def _condition_scores(self, condition: AttributeCondition) -> FloatArray:
        """Categorical values the model has vectors for: those vectors; anything else (numbers,
        values new since training): the items that have the value."""
        model, items = self.model, self.group.items
        name = items.column_names.get(condition.column.upper()) if items is not None else None
        column = items.columns.get(name) if items is not None and name is not None else None
        if (
            isinstance(model, ItemAttributeAffinity)
            and isinstance(column, CategoricalColumn)
            and name is not None
            and all(isinstance(v, str) for v in condition.values)
        ):
            pairs = [(name, str(v)) for v in condition.values]
            if all(model.attribute_key(*p) in model.attribute_names for p in pairs):
                return _row(model.score_users_for_attributes([pairs]))
        mask = self._items_matching(condition)
        if not mask.any():
            shown = ", ".join(repr(v) if isinstance(v, str) else f"{v:g}" for v in condition.values)
            raise LineError(
                f"No item known at training time has ITEMS.{condition.column} = {shown}."
            )
        return _row(model.score_users_for_item_sets(mask[None, :]))

    def attribute_scores(self, query: str) -> FloatArray:
        try:
            conditions = parse_query(query)
        except QueryError as exc:
            raise LineError(f"Invalid itemAttributes: {exc}.") from None
        rows = [self._condition_scores(c) for c in conditions]
        scores: FloatArray = np.mean(np.stack(rows), axis=0).astype(np.float32)
        return scores

    def line_scores(self, value: dict[str, Any]) -> FloatArray:
        if self.recipe_name == ATTRIBUTE_AFFINITY:
            query = value.get("itemAttributes")
            if not isinstance(query, str):
                raise LineError(
                    'Each line needs "itemAttributes", e.g. '
                    '{"itemAttributes": "ITEMS.GENRE = \\"Comedy\\""}.'
                )
            return self.attribute_scores(query)
        item_id = value.get("itemId")
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)
        if not isinstance(item_id, str) or not item_id:
            raise LineError('Each line needs "itemId", e.g. {"itemId": "105"}.')
        return self.item_scores(item_id)

    def handle(self, chunk: list[Line]) -> Iterator[Answer]:
        for line in chunk:
            if line.value is None:
                yield answer(line, None, line.error)
                continue
            try:
                values = line.value.get("filterValues")
                if values is not None and not isinstance(values, dict):
                    raise LineError("filterValues must be an object of strings.")
                scores = np.array(self.line_scores(line.value), dtype=np.float32)
                mask = self.user_mask(values)
                if mask is not None:
                    scores[~mask] = -np.inf
                chosen = top_k(scores, self.n_results)
            except (LineError, PersonalizeError) as exc:
                message = exc.message if isinstance(exc, PersonalizeError) else str(exc)
                yield answer(line, None, message)
                continue
            yield answer(line, {"usersList": self.model.users.ids(chosen)})

    def check_file(self, obj: ObjectInfo, lines: list[Line]) -> None:
        if self.recipe_name == ATTRIBUTE_AFFINITY:
            limit, label = self.ctx.config.max_item_attribute_affinity_queries, "Item-Attribute"
        else:
            limit, label = self.ctx.config.max_item_affinity_queries, "Item"
        if len(lines) > limit:
            raise runner.JobFailed(
                f"The input file {obj.url} has {len(lines)} queries; {label}-Affinity batch "
                f"segment jobs accept at most {limit} queries per file."
            )


def user_filter(
    ctx: Context, body: Mapping[str, Any], group: str, recipe: str
) -> ValidatedFilter | None:
    arn = body.get("filterArn")
    if not arn:
        return None
    try:
        validated = serving_cache(ctx).filter(str(arn), group, related_items=False)
    except PersonalizeError as exc:
        raise runner.JobFailed(exc.message) from None
    targets = {e.target.value for e in validated.expression.expressions}
    if targets != {"UserID"}:
        raise runner.JobFailed(
            f"Filter {arn} filters {', '.join(sorted(targets))}; batch segment jobs need a "
            "UserID filter."
        )
    if recipe == ATTRIBUTE_AFFINITY and any(
        f.dataset is Dataset.INTERACTIONS for f in validated.fields
    ):
        raise runner.JobFailed(
            "Interactions filters cannot be used with aws-item-attribute-affinity."
        )
    return validated


@runner.job(KIND)
def run_batch_segment(ctx: Context, job: Job) -> None:
    resource = ctx.store.get(job.arn)
    if resource.status not in (lifecycle.CREATE_PENDING, lifecycle.CREATE_IN_PROGRESS):
        return
    if resource.status == lifecycle.CREATE_PENDING:
        runner.start(ctx, job.arn)
    body = resource.body
    dep = deployment(ctx, job.arn, body)
    if not isinstance(dep.model, ItemAffinity):
        raise runner.JobFailed(f"{dep.recipe_name} does not make user segments.")
    group = serving_cache(ctx).group(dep.dataset_group)
    validated = user_filter(ctx, body, dep.dataset_group, dep.recipe_name)
    batch = open_batch(ctx, body)
    segments = SegmentJob(ctx, dep.model, dep.recipe_name, group, body, validated)
    progress = run_files(
        ctx, job.arn, batch, CHUNK_LINES, segments.handle, check_file=segments.check_file
    )
    ctx.store.update(job.arn, status=lifecycle.ACTIVE, body={"progress": progress.as_json()})
