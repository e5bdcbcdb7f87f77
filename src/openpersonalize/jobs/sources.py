"""Input files of data jobs: every object at a location, each as a local file to read."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from openpersonalize.controlplane.context import Context
from openpersonalize.store.objects import ObjectInfo, ObjectStore


def input_objects(ctx: Context, url: str) -> tuple[ObjectStore, list[ObjectInfo]]:
    """The object at ``url``, or every object under the folder/prefix ``url`` (sub-folders
    included). Hidden and marker files (``.name``, ``_SUCCESS``) are skipped. Raises
    ``LocationError`` (an ``InvalidInputException``) when there is nothing to read."""
    store = ctx.location(url)
    objects = [
        o
        for o in store.list_objects()
        if not o.key or not PurePosixPath(o.key).name.startswith((".", "_"))
    ]
    return store, objects


@contextlib.contextmanager
def local_copy(ctx: Context, store: ObjectStore, obj: ObjectInfo) -> Iterator[Path]:
    """A local file with the object's bytes: the file itself for local stores, else a
    temporary download in the data directory (removed afterwards)."""
    path = store.local_path(obj.key)
    if path is not None:
        yield path
        return
    tmp_dir = ctx.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if obj.key.endswith(".gz") else ".csv"
    with tempfile.NamedTemporaryFile(dir=tmp_dir, suffix=suffix, delete=False) as tmp:
        target = Path(tmp.name)
        try:
            with store.open_read(obj.key) as stream:
                shutil.copyfileobj(stream, tmp, 1 << 20)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    try:
        yield target
    finally:
        target.unlink(missing_ok=True)


def display_name(obj: ObjectInfo) -> str:
    """How failure reasons name a file: its full URL."""
    return obj.url
