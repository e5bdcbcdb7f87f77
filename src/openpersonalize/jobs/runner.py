"""Running one job: the resource's status moves through the AWS lifecycle around the work.

Job kinds map to functions registered with :func:`job`. A kind whose work is not built yet ends its
resource in CREATE FAILED with a reason that says so — never a faked success.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import PersonalizeError
from openpersonalize.store.metadata import Job

log = logging.getLogger("openpersonalize.jobs")

JobFunction = Callable[[Context, Job], None]
JOBS: dict[str, JobFunction] = {}

# The failed status per resource kind (data deletion jobs spell theirs differently).
FAILED_STATUS = {"data-deletion-job": lifecycle.FAILED}
RUNNING_STATUS = {"data-deletion-job": lifecycle.IN_PROGRESS}


class JobFailed(Exception):
    """Raised by job functions with the ``failureReason`` to show the user."""


def job(kind: str) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        JOBS[kind] = function
        return function

    return register


def fail(ctx: Context, arn: str, kind: str, reason: str) -> None:
    resource = ctx.store.find(arn)
    if resource is None:
        return
    status = FAILED_STATUS.get(resource.kind, lifecycle.CREATE_FAILED)
    ctx.store.update(arn, status=status, body={"failureReason": reason[:2000]})


def run(ctx: Context, claimed: Job) -> None:
    """Run a claimed job to its end; the job row is finished whatever happens."""
    try:
        resource = ctx.store.find(claimed.arn)
        if resource is None or resource.deleted_at is not None:
            return
        function = JOBS.get(claimed.kind)
        if function is None:
            from openpersonalize.jobs import load_job_modules

            load_job_modules()
            function = JOBS.get(claimed.kind)
        if function is None:
            fail(
                ctx,
                claimed.arn,
                claimed.kind,
                f"{claimed.kind} jobs are not built yet in this version of openpersonalize.",
            )
            return
        try:
            function(ctx, claimed)
        except (JobFailed, PersonalizeError) as exc:
            message = exc.message if isinstance(exc, PersonalizeError) else str(exc)
            fail(ctx, claimed.arn, claimed.kind, message)
        except Exception as exc:  # a bug: fail loudly but keep the worker alive
            log.error("job %s (%s) crashed:\n%s", claimed.id, claimed.kind, traceback.format_exc())
            fail(ctx, claimed.arn, claimed.kind, f"Internal error: {type(exc).__name__}: {exc}")
    finally:
        ctx.store.finish(claimed.id)


def start(ctx: Context, arn: str, status: str = lifecycle.CREATE_IN_PROGRESS) -> None:
    """Move a resource to its in-progress status (checked against the transition table)."""
    resource = ctx.store.get(arn)
    status = RUNNING_STATUS.get(resource.kind, status)
    lifecycle.check_move(resource.kind, arn, resource.status, status)
    ctx.store.update(arn, status=status)
