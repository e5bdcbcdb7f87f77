"""What every control-plane handler gets: settings, the metadata store, the ARN factory."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from openpersonalize.arns import ArnFactory
from openpersonalize.settings import Config
from openpersonalize.store.event_log import EventLog
from openpersonalize.store.metadata import MetadataStore
from openpersonalize.store.objects import ObjectStore, ObjectStoreSettings, open_location
from openpersonalize.store.records import RecordStore

Handler = Callable[["Context", dict[str, Any]], dict[str, Any]]


@dataclass
class Context:
    config: Config
    store: MetadataStore
    arns: ArnFactory
    clock: Callable[[], float] = field(default=time.time)
    # Called after a job is enqueued; the inline test seam runs the job at once.
    on_enqueue: Callable[[int], None] | None = None

    @property
    def data_dir(self) -> Path:
        return self.config.data_path

    def now(self) -> float:
        return self.clock()

    @cached_property
    def object_settings(self) -> ObjectStoreSettings:
        return ObjectStoreSettings(s3_endpoint_url=self.config.s3_endpoint_url or None)

    @cached_property
    def records(self) -> RecordStore:
        """Dataset records (Parquet segments) under ``<data_dir>/records``."""
        return RecordStore(str(self.data_dir / "records"), self.object_settings)

    @cached_property
    def event_log(self) -> EventLog:
        """The real-time logs. Owned by the server process (each log is flock'ed)."""
        return EventLog(self.data_dir / "events", self.records)

    def location(self, url: str) -> ObjectStore:
        """A user-facing location: local path, file:// or s3:// on the configured endpoint."""
        return open_location(url, self.object_settings)

    def enqueue(self, arn: str, kind: str, payload: dict[str, Any] | None = None) -> int:
        job_id = self.store.enqueue(arn, kind, payload)
        if self.on_enqueue is not None:
            self.on_enqueue(job_id)
        return job_id


def make_context(config: Config) -> Context:
    data_dir = config.data_path
    data_dir.mkdir(parents=True, exist_ok=True)
    store = MetadataStore(data_dir / "metadata.sqlite3")
    return Context(config, store, ArnFactory(region=config.region, account=config.account_id))
