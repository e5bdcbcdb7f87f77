"""Job workers: separate processes that claim jobs from the metadata store and run them."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from types import FrameType

from openpersonalize.controlplane import lifecycle
from openpersonalize.controlplane.context import Context
from openpersonalize.jobs import runner
from openpersonalize.store.metadata import Job

log = logging.getLogger("openpersonalize.worker")
POLL_SECONDS = 0.2
# Set by ``serve`` for the workers it starts: they exit when that process dies (even by kill -9).
SERVER_PID_ENV = "_OPENPERSONALIZE_SERVER_PID"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_one(ctx: Context, name: str) -> bool:
    """Claim and run one job; False when the queue is empty."""
    claimed = ctx.store.claim(name, ctx.config.job_lease_seconds)
    if claimed is None:
        return False
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(ctx, claimed, name, stop), daemon=True)
    beat.start()
    try:
        runner.run(ctx, claimed)
    finally:
        stop.set()
        beat.join()
    return True


def _heartbeat(ctx: Context, claimed: Job, name: str, stop: threading.Event) -> None:
    interval = max(ctx.config.job_lease_seconds / 3, 0.05)
    while not stop.wait(interval):
        ctx.store.heartbeat(claimed.id, name, ctx.config.job_lease_seconds)


def serve_forever(ctx: Context) -> None:
    """The worker process main loop; exits on SIGTERM/SIGINT after the running job."""
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    name = worker_id()
    log.info("worker %s started", name)
    server_pid = os.environ.get(SERVER_PID_ENV)
    while not stopping.is_set():
        if server_pid and str(os.getppid()) != server_pid:
            log.warning("worker %s: the server that started it is gone; exiting", name)
            return
        if not run_one(ctx, name):
            stopping.wait(POLL_SECONDS)


def recover(ctx: Context, now: float | None = None) -> int:
    """Jobs whose worker died: run again while attempts remain, else fail with a reason."""
    now = time.time() if now is None else now
    recovered = 0
    for expired in ctx.store.expired_jobs(now):
        recovered += 1
        if expired.attempts < ctx.config.job_max_attempts:
            resource = ctx.store.find(expired.arn)
            if resource is not None and resource.status in lifecycle.IN_FLIGHT:
                log.warning(
                    "job %s (%s) lost its worker; running it again", expired.id, expired.kind
                )
            ctx.store.requeue(expired.id)
        else:
            runner.fail(
                ctx,
                expired.arn,
                expired.kind,
                f"The job was interrupted {expired.attempts} times (worker crash or restart) and "
                "was given up.",
            )
            ctx.store.finish(expired.id)
    return recovered
