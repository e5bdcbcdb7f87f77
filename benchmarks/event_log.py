"""Durable event-log throughput: 4 threads appending 10-event batches, as PutEvents would.

Run: ``.venv/bin/python benchmarks/event_log.py [--seconds 3] [--threads 4]``. Prints events/s
(every counted event was fsync'ed before its append returned).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from openpersonalize.store.event_log import EventLog
from openpersonalize.store.records import RecordStore

DATASET = "arn:aws:personalize:us-east-1:123456789012:dataset/bench/INTERACTIONS"


def run(seconds: float, threads: int, batch_size: int, compact: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        records = RecordStore(str(Path(tmp) / "records"))
        log = EventLog(Path(tmp) / "events", records)
        log.open(DATASET)
        if compact:
            log.start_compactor(interval_s=1.0)
        counts = [0] * threads
        deadline = time.perf_counter() + seconds

        def writer(n: int) -> None:
            i = 0
            while time.perf_counter() < deadline:
                batch = [
                    {
                        "USER_ID": f"u{n}-{i % 1000}",
                        "ITEM_ID": f"i{(i * 7 + k) % 5000}",
                        "EVENT_TYPE": "click",
                        "TIMESTAMP": 1_700_000_000 + i,
                        "EVENT_ID": uuid.uuid4().hex,
                        "SESSION_ID": f"s{n}",
                    }
                    for k in range(batch_size)
                ]
                counts[n] += log.append(DATASET, batch).accepted
                i += 1

        started = time.perf_counter()
        workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
        log.close()
        return sum(counts) / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--compact", action="store_true", help="run the compactor meanwhile")
    args = parser.parse_args(argv)
    rate = run(args.seconds, args.threads, args.batch_size, args.compact)
    print(
        f"event log: {rate:,.0f} events/s durable "
        f"({args.threads} threads, {args.batch_size}-event batches"
        f"{', compacting' if args.compact else ''})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
