from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from openpersonalize.serving.batcher import Batcher, _Entry


def test_alone_is_scored_at_once() -> None:
    calls: list[list[int]] = []

    def score(reqs: Sequence[int]) -> list[int]:
        calls.append(list(reqs))
        return [r * 10 for r in reqs]

    b: Batcher[int, int] = Batcher(score)
    assert b.submit(3) == 30
    assert b.submit(4) == 40
    assert calls == [[3], [4]]


def test_concurrent_requests_share_a_call() -> None:
    gate = threading.Event()
    entered = threading.Event()
    calls: list[list[int]] = []

    def score(reqs: Sequence[int]) -> list[int]:
        calls.append(list(reqs))
        if len(calls) == 1:
            entered.set()
            assert gate.wait(5)
        return [r * 10 for r in reqs]

    b: Batcher[int, int] = Batcher(score, max_batch=4)
    results: dict[int, int] = {}

    def run(r: int) -> None:
        results[r] = b.submit(r)

    first = threading.Thread(target=run, args=(0,))
    first.start()
    assert entered.wait(5)
    others = [threading.Thread(target=run, args=(r,)) for r in range(1, 7)]
    for t in others:
        t.start()
    while len(b._queue) < 6:  # all six wait behind the first call
        threading.Event().wait(0.001)
    gate.set()
    for t in [first, *others]:
        t.join(5)
    assert results == {r: r * 10 for r in range(7)}
    assert [len(c) for c in calls] == [1, 4, 2]
    assert sorted(r for c in calls for r in c) == list(range(7))


def test_one_failure_stays_with_its_request() -> None:
    def score(reqs: Sequence[int]) -> list[int]:
        if -1 in reqs:
            raise ValueError("bad")
        return list(reqs)

    b: Batcher[int, int] = Batcher(score)
    with pytest.raises(ValueError):
        b.submit(-1)
    assert b.submit(2) == 2
    # A shared call that fails: each request is scored alone, only the bad one fails.
    entries: list[_Entry[int]] = [_Entry(1), _Entry(-1), _Entry(2)]
    b._run(entries)
    assert [e.result for e in entries[::2]] == [1, 2]
    assert isinstance(entries[1].result, ValueError)
    assert all(e.done is not None and e.done.is_set() for e in entries)


def test_an_exception_as_output_is_raised_to_its_request_alone() -> None:
    def score(reqs: Sequence[int]) -> list[int | BaseException]:
        return [KeyError(r) if r < 0 else r for r in reqs]

    b: Batcher[int, int] = Batcher(score)
    with pytest.raises(KeyError):
        b.submit(-5)
    assert b.submit(5) == 5


def test_async_requests_share_a_call_and_wake_the_loop_once_per_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[int]] = []
    wake_ups: list[object] = []

    def score(reqs: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(reqs))
        if len(calls) == 1:
            # Busy with the first request until the others have queued (on a loaded machine the
            # scorer could otherwise take them as they trickle in).
            deadline = time.monotonic() + 10
            while len(b._queue) + len(reqs) < 6 and time.monotonic() < deadline:
                time.sleep(0.001)
        return [ValueError("odd") if r % 2 else r * 10 for r in reqs]

    b: Batcher[int, int] = Batcher(score, max_batch=8)

    async def main() -> list[int | BaseException]:
        loop = asyncio.get_running_loop()
        wake = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any, **kwargs: Any) -> asyncio.Handle:
            wake_ups.append(callback)
            return wake(callback, *args, **kwargs)

        monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
        return await asyncio.gather(*(b.submit_async(r) for r in range(6)), return_exceptions=True)

    results = asyncio.run(main())
    assert [r for r in results if not isinstance(r, BaseException)] == [0, 20, 40]
    assert all(isinstance(results[r], ValueError) for r in (1, 3, 5))
    assert sorted(r for c in calls for r in c) == list(range(6))
    assert len(calls) <= 2  # the first alone (the scorer was idle), the rest together
    assert len(wake_ups) == len(calls)  # one wake-up per batch, not one per request


def test_an_idle_scorer_ends_and_a_new_request_starts_another() -> None:
    b: Batcher[int, int] = Batcher(lambda reqs: list(reqs), idle_seconds=0.01)
    assert b.submit(1) == 1
    deadline = time.monotonic() + 5
    while b._running and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not b._running
    assert b.submit(2) == 2
