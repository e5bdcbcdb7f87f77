"""Micro-batching of real-time scoring: concurrent requests for one model share a matrix product.

A float32 (100,000 × 64) matrix-vector product is memory bound (~250/s per core); the same
product for 16 users at once costs little more than for one. Requests that arrive while their
model is being scored queue up; when the scorer finishes, the oldest waiting request takes over
as the scorer of everything queued (up to :data:`MAX_BATCH`), scores it with one call and hands
each request its row. A request that finds its model idle is scored at once, on its own thread:
no timer, no added latency at low load, and one scorer per model and kind at a time.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from openpersonalize.serving.cache import ModelView

MAX_BATCH = 32

Req = TypeVar("Req")
Out = TypeVar("Out")


class _Entry(Generic[Req, Out]):
    __slots__ = ("done", "error", "lead", "req", "result")

    def __init__(self, req: Req) -> None:
        self.req = req
        self.done = threading.Event()
        self.lead = False  # set with ``done``: score the queue instead of reading ``result``
        self.result: Out | None = None
        self.error: BaseException | None = None


class Batcher(Generic[Req, Out]):
    """Scores requests with ``score`` (a batch in, one output per request, in order)."""

    def __init__(self, score: Callable[[Sequence[Req]], Sequence[Out]], max_batch: int = MAX_BATCH):
        self._score = score
        self._max = max_batch
        self._lock = threading.Lock()
        self._queue: deque[_Entry[Req, Out]] = deque()
        self._busy = False

    def submit(self, req: Req) -> Out:
        entry: _Entry[Req, Out] = _Entry(req)
        with self._lock:
            self._queue.append(entry)
            lead = not self._busy
            if lead:
                self._busy = True
        if not lead:
            entry.done.wait()
            if not entry.lead:
                return self._outcome(entry)
        # The scorer: everything queued (this request is in the batch, it is the oldest).
        self._run()
        return self._outcome(entry)

    @staticmethod
    def _outcome(entry: _Entry[Req, Out]) -> Out:
        if entry.error is not None:
            raise entry.error
        assert entry.result is not None
        return entry.result

    def _score_alone(self, entry: _Entry[Req, Out]) -> None:
        try:
            entry.result = self._score([entry.req])[0]
        except Exception as exc:
            entry.error = exc

    def _run(self) -> None:
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(self._max, len(self._queue)))]
        try:
            try:
                results = self._score([e.req for e in batch])
            except Exception:
                if len(batch) == 1:
                    raise
                for e in batch:  # one request's failure must not fail the others
                    self._score_alone(e)
            else:
                for e, result in zip(batch, results, strict=True):
                    e.result = result
        except BaseException as exc:
            for e in batch:
                e.error = exc
        finally:
            with self._lock:
                heir = self._queue[0] if self._queue else None
                if heir is None:
                    self._busy = False
            if heir is not None:
                heir.lead = True  # stays busy: the oldest waiting request scores the next batch
                heir.done.set()
            for e in batch:
                e.done.set()


_LOCK = threading.Lock()
_BATCHERS: weakref.WeakKeyDictionary[ModelView, dict[str, Batcher[object, object]]] = (
    weakref.WeakKeyDictionary()
)


def batcher(
    view: ModelView, kind: str, score: Callable[[Sequence[Req]], Sequence[Out]]
) -> Batcher[Req, Out]:
    """The batcher of one model view (one model over one data snapshot) and scoring ``kind``;
    ``score`` is used when the batcher is created."""
    with _LOCK:
        per_view = _BATCHERS.setdefault(view, {})
        found = per_view.get(kind)
        if found is None:
            found = per_view[kind] = Batcher(score)  # type: ignore[arg-type]
    return found  # type: ignore[return-value]
