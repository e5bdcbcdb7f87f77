"""The durable job queue: atomic claims across processes, recovery, and lifecycle transitions."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context, make_context
from openpersonalize.jobs import runner, worker
from openpersonalize.settings import load_config
from openpersonalize.store.metadata import MetadataStore, Resource


def _claim_all(path: str, name: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = MetadataStore(Path(path))
    claimed = []
    while True:
        job = store.claim(name, 60)
        if job is None:
            break
        claimed.append(job.id)
    out.put(claimed)


def test_claims_are_atomic_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "meta.sqlite3"
    store = MetadataStore(path)
    ids = {store.enqueue(f"arn:{i}", "kind") for i in range(200)}
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    processes = [
        multiprocessing.Process(target=_claim_all, args=(str(path), f"w{i}", queue))
        for i in range(4)
    ]
    for p in processes:
        p.start()
    results = [queue.get(timeout=60) for _ in processes]
    for p in processes:
        p.join()
    claimed = [job_id for chunk in results for job_id in chunk]
    assert sorted(claimed) == sorted(ids)  # every job exactly once


def make(tmp_path: Path, **settings: object) -> Context:
    return make_context(load_config({"data_dir": str(tmp_path), **settings}, environ={}))


def pending(ctx: Context, arn: str) -> None:
    now = time.time()
    ctx.store.insert(
        Resource(
            arn=arn,
            kind="dataset-import-job",
            name=arn,
            status=lifecycle.CREATE_PENDING,
            created=now,
            updated=now,
        )
    )


def test_unbuilt_job_kinds_fail_loudly(tmp_path: Path) -> None:
    ctx = make(tmp_path)
    pending(ctx, "arn:job")
    ctx.store.enqueue("arn:job", "no-such-kind")
    assert worker.run_one(ctx, "w")
    resource = ctx.store.get("arn:job")
    assert resource.status == lifecycle.CREATE_FAILED
    assert "not built yet" in resource.body["failureReason"]


def test_job_function_errors_become_failure_reasons(tmp_path: Path) -> None:
    ctx = make(tmp_path)
    pending(ctx, "arn:job")

    @runner.job("test-failing")
    def failing(ctx: Context, job: object) -> None:
        runner.start(ctx, "arn:job")
        raise runner.JobFailed("Input CSV is missing the following columns: [TIMESTAMP]")

    ctx.store.enqueue("arn:job", "test-failing")
    worker.run_one(ctx, "w")
    resource = ctx.store.get("arn:job")
    assert resource.status == lifecycle.CREATE_FAILED
    assert (
        resource.body["failureReason"] == "Input CSV is missing the following columns: [TIMESTAMP]"
    )
    assert ctx.store.jobs("arn:job")[0].state == "done"


def test_interrupted_jobs_are_resumed_then_given_up(tmp_path: Path) -> None:
    ctx = make(tmp_path, job_max_attempts=2)
    pending(ctx, "arn:job")
    ctx.store.enqueue("arn:job", "test-never")
    # A worker claims it and dies (its lease runs out).
    assert ctx.store.claim("dead-worker", lease_seconds=0.0) is not None
    assert worker.recover(ctx, now=time.time() + 1) == 1
    assert ctx.store.jobs("arn:job")[0].state == "queued"
    assert ctx.store.claim("dead-again", lease_seconds=0.0) is not None
    worker.recover(ctx, now=time.time() + 1)
    resource = ctx.store.get("arn:job")
    assert resource.status == lifecycle.CREATE_FAILED
    assert "interrupted 2 times" in resource.body["failureReason"]


@pytest.mark.parametrize(
    ("kind", "current", "new", "allowed"),
    [
        ("dataset", lifecycle.CREATE_PENDING, lifecycle.CREATE_IN_PROGRESS, True),
        ("dataset", lifecycle.ACTIVE, lifecycle.CREATE_IN_PROGRESS, False),
        ("solution-version", lifecycle.CREATE_IN_PROGRESS, lifecycle.CREATE_STOPPING, True),
        ("solution-version", lifecycle.CREATE_PENDING, lifecycle.CREATE_STOPPED, True),
        ("solution-version", lifecycle.ACTIVE, lifecycle.CREATE_STOPPING, False),
        ("recommender", lifecycle.ACTIVE, lifecycle.STOP_PENDING, True),
        ("recommender", lifecycle.INACTIVE, lifecycle.START_PENDING, True),
        ("data-deletion-job", lifecycle.PENDING, lifecycle.IN_PROGRESS, True),
        ("data-deletion-job", lifecycle.COMPLETED, lifecycle.IN_PROGRESS, False),
    ],
)
def test_transition_table(kind: str, current: str, new: str, allowed: bool) -> None:
    assert lifecycle.can_move(kind, current, new) is allowed
