"""The scheduler: a thread in the server that finishes deletes and recovers interrupted jobs.

Periodic work that belongs to later features (auto-training, recommender retraining) registers
with :func:`every`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.jobs import worker

log = logging.getLogger("openpersonalize.scheduler")
TICK_SECONDS = 0.5

Task = Callable[[Context], None]
PERIODIC: list[tuple[float, Task]] = []


def every(seconds: float) -> Callable[[Task], Task]:
    def register(task: Task) -> Task:
        PERIODIC.append((seconds, task))
        return task

    return register


@every(TICK_SECONDS)
def finish_deletes(ctx: Context) -> None:
    common.purge_due(ctx)


@every(TICK_SECONDS)
def recover_jobs(ctx: Context) -> None:
    worker.recover(ctx)


class Scheduler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._last: dict[int, float] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> None:
        now = time.time()
        for i, (period, task) in enumerate(PERIODIC):
            if now - self._last.get(i, 0.0) >= period:
                self._last[i] = now
                try:
                    task(self.ctx)
                except Exception:
                    log.exception("scheduled task %s failed", task.__name__)

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self.tick()
