"""Micro-batching of real-time scoring: concurrent requests for one model share one pass.

A float32 (100,000 × 64) matrix-vector product is memory bound (~250/s per core), and so is
every pass over a 100,000-item score vector; the same passes for 32 users at once cost little
more than for one. Each batcher has a scorer thread: requests queue up, and whenever the scorer
is free it takes everything queued (up to :data:`MAX_BATCH`), scores it with one call and hands
each request its result. A request that finds the scorer idle is taken at once: no timer, no
added latency at low load. The numeric work releases the GIL, so the event loop goes on
parsing the next requests meanwhile.

Requests wait on a :class:`threading.Event` (:meth:`Batcher.submit`, from any thread) or on an
asyncio future (:meth:`Batcher.submit_async`, from the event loop: one wake-up of the loop per
batch, not per request). A scorer that has been idle for :data:`IDLE_SECONDS` ends; the next
request starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from openpersonalize.serving.cache import ModelView

MAX_BATCH = 32
IDLE_SECONDS = 2.0

Req = TypeVar("Req")
Out = TypeVar("Out")


class _Entry(Generic[Req]):
    __slots__ = ("done", "future", "loop", "req", "result")

    def __init__(
        self,
        req: Req,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[object] | None = None,
    ) -> None:
        self.req = req
        self.loop = loop
        self.future = future
        self.done = threading.Event() if loop is None else None
        self.result: object = None  # the output, or the exception to raise


def _raise_or_return(result: object) -> object:
    if isinstance(result, BaseException):
        raise result
    return result


def _resolve(entries: list[_Entry[object]]) -> None:
    """On the event loop: complete the futures of one batch."""
    for e in entries:
        future = e.future
        if future is None or future.done():
            continue  # the request was cancelled (its client went away)
        if isinstance(e.result, BaseException):
            future.set_exception(e.result)
        else:
            future.set_result(e.result)


class Batcher(Generic[Req, Out]):
    """Scores requests with ``score``: a batch in, one output per request, in order. An output
    that is an exception is raised to its request alone."""

    def __init__(
        self,
        score: Callable[[Sequence[Req]], Sequence[Out | BaseException]],
        max_batch: int = MAX_BATCH,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._score = score
        self._max = max_batch
        self._idle = idle_seconds
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[_Entry[Req]] = deque()
        self._running = False  # a scorer thread exists
        self._waiting = False  # ... and sleeps on ``_cond``

    def submit(self, req: Req) -> Out:
        """Scores ``req`` with whatever is queued with it; blocks the calling thread."""
        entry: _Entry[Req] = _Entry(req)
        self._put(entry)
        assert entry.done is not None
        entry.done.wait()
        return _raise_or_return(entry.result)  # type: ignore[return-value]

    async def submit_async(self, req: Req) -> Out:
        """:meth:`submit` for the event loop: awaits the result without a thread of its own."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._put(_Entry(req, loop, future))
        return await future  # type: ignore[return-value]

    def _put(self, entry: _Entry[Req]) -> None:
        with self._cond:
            self._queue.append(entry)
            if not self._running:
                self._running = True
                threading.Thread(target=self._serve, name="scorer", daemon=True).start()
            elif self._waiting:
                self._waiting = False  # one wake-up, however many requests arrive meanwhile
                self._cond.notify()

    def _serve(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._waiting = True
                    self._cond.wait(self._idle)
                    self._waiting = False
                    if not self._queue:
                        self._running = False
                        return
                batch = [self._queue.popleft() for _ in range(min(self._max, len(self._queue)))]
            self._run(batch)

    def _run(self, batch: list[_Entry[Req]]) -> None:
        try:
            results: Sequence[object] = self._score([e.req for e in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as exc:
            # One request's failure must not fail the others: score them one by one.
            results = [exc] if len(batch) == 1 else [self._alone(e) for e in batch]
        except BaseException as exc:  # handed to every waiting request; the scorer goes on
            results = [exc] * len(batch)
        self._deliver(batch, results)

    @staticmethod
    def _deliver(batch: list[_Entry[Req]], results: Sequence[object]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Entry[object]]] = {}
        for e, result in zip(batch, results, strict=True):
            e.result = result
            if e.loop is None:
                assert e.done is not None
                e.done.set()
            else:
                by_loop.setdefault(e.loop, []).append(e)  # type: ignore[arg-type]
        for loop, entries in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, entries)

    def _alone(self, entry: _Entry[Req]) -> object:
        try:
            return self._score([entry.req])[0]
        except Exception as exc:
            return exc


_LOCK = threading.Lock()
_BATCHERS: weakref.WeakKeyDictionary[ModelView, dict[str, Batcher[object, object]]] = (
    weakref.WeakKeyDictionary()
)


def batcher(
    view: ModelView,
    kind: str,
    score: Callable[[Sequence[Req]], Sequence[Out | BaseException]],
) -> Batcher[Req, Out]:
    """The batcher of one model view (one model over one data snapshot) and scoring ``kind``;
    ``score`` is used when the batcher is created."""
    with _LOCK:
        per_view = _BATCHERS.setdefault(view, {})
        found = per_view.get(kind)
        if found is None:
            found = per_view[kind] = Batcher(score)  # type: ignore[arg-type]
    return found  # type: ignore[return-value]
