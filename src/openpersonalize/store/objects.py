"""Object stores for user-facing locations and for the data directory, chosen by URL scheme.

A location is a URL naming a directory-like root: a local path, a ``file://`` URL, or
``s3://bucket/prefix``. ``open_location(url)`` returns an :class:`ObjectStore` rooted there; keys
are relative POSIX paths below the root (``"Interactions/part-0.csv"``). The same interface serves
import sources (``dataLocation`` may name one object or a folder), batch outputs, exports and the
record store's own segments, so every backend is tested by one suite.

S3 goes through boto3 on a configurable endpoint: an explicit ``endpoint_url`` setting wins, else
boto3 itself honours ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from openpersonalize.errors import InvalidInputException

# Temporary files of an in-flight atomic write; never listed as objects.
_TMP_SUFFIX = ".optmp"
# Writes larger than this are spooled to disk before upload.
_SPOOL_BYTES = 16 * 1024 * 1024


class LocationError(InvalidInputException):
    """A location that does not exist, cannot be read, or is not a supported URL."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class ObjectExistsError(Exception):
    """``write_bytes(..., if_absent=True)`` found the key already taken (a lost commit race)."""


@dataclass(frozen=True)
class ObjectStoreSettings:
    """How to reach S3-compatible storage. ``None`` fields fall back to boto3's own resolution."""

    s3_endpoint_url: str | None = None
    region_name: str | None = None
    # "path" for S3-compatible services that do not do virtual-host addressing (MinIO and friends).
    s3_addressing_style: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str  # relative to the store's root; "" when the root itself is the object
    url: str  # absolute URL, usable with open_location
    size: int
    modified: float  # epoch seconds


class ObjectStore(ABC):
    """A tree of immutable-ish objects under a root URL."""

    url: str

    @abstractmethod
    def list_objects(self, key: str = "") -> list[ObjectInfo]:
        """Objects at ``key``: that one object if it exists, else every object below the folder
        ``key`` (recursively), sorted by key. Raises :class:`LocationError` if there is none."""

    @abstractmethod
    def list_prefix(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (a folder when it ends in ``/``); sorted;
        empty when there is none."""

    @abstractmethod
    def open_read(self, key: str = "") -> IO[bytes]:
        """A binary stream; raises :class:`LocationError` when the object is missing."""

    @abstractmethod
    def exists(self, key: str = "") -> bool: ...

    @abstractmethod
    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """A binary stream whose content becomes visible at ``key`` atomically when the block
        exits without an exception; on an exception nothing is written."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        """Write atomically. With ``if_absent`` raise :class:`ObjectExistsError` rather than
        replace an existing object (the compare-and-swap that commits manifests)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object; a missing object is not an error."""

    @abstractmethod
    def local_path(self, key: str = "") -> Path | None:
        """The file behind ``key`` when the store is a local directory (for memory mapping)."""

    def read_bytes(self, key: str = "") -> bytes:
        with self.open_read(key) as stream:
            return stream.read()

    def delete_prefix(self, prefix: str) -> int:
        objects = self.list_prefix(prefix)
        for obj in objects:
            self.delete(obj.key)
        return len(objects)

    def url_for(self, key: str = "") -> str:
        if not key:
            return self.url
        return self.url.rstrip("/") + "/" + key

    def child(self, key: str) -> ObjectStore:
        """A store rooted at ``key`` below this one."""
        return _open(self.url_for(key.strip("/")), self._settings())

    @abstractmethod
    def _settings(self) -> ObjectStoreSettings: ...


def _check_key(key: str) -> str:
    parts = [p for p in key.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise InvalidInputException(f"Invalid object key {key!r}.")
    return "/".join(parts) + ("/" if key.endswith("/") and parts else "")


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path, settings: ObjectStoreSettings) -> None:
        self.root = root.absolute()
        self.url = str(self.root)
        self._store_settings = settings

    def _settings(self) -> ObjectStoreSettings:
        return self._store_settings

    def _path(self, key: str) -> Path:
        key = _check_key(key).rstrip("/")
        return self.root / key if key else self.root

    def _info(self, path: Path) -> ObjectInfo:
        stat = path.stat()
        rel = path.relative_to(self.root).as_posix() if path != self.root else ""
        return ObjectInfo(key=rel, url=str(path), size=stat.st_size, modified=stat.st_mtime)

    def _walk(self, folder: Path) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        for dirpath, _dirnames, filenames in os.walk(folder):
            for name in filenames:
                if not name.endswith(_TMP_SUFFIX):
                    with contextlib.suppress(FileNotFoundError):  # deleted while walking
                        found.append(self._info(Path(dirpath) / name))
        return sorted(found, key=lambda o: o.key)

    def list_objects(self, key: str = "") -> list[ObjectInfo]:
        path = self._path(key)
        if path.is_file():
            return [self._info(path)]
        found = self._walk(path) if path.is_dir() else []
        if not found:
            raise LocationError(f"No objects found at {path}.", str(path))
        return found

    def list_prefix(self, prefix: str = "") -> list[ObjectInfo]:
        prefix = _check_key(prefix)
        folder = self._path(prefix.rsplit("/", 1)[0] if "/" in prefix else "")
        if not folder.is_dir():
            return []
        return [o for o in self._walk(folder) if o.key.startswith(prefix)]

    def open_read(self, key: str = "") -> IO[bytes]:
        path = self._path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise LocationError(f"The object {path} does not exist.", str(path)) from None
        except PermissionError:
            raise LocationError(f"Insufficient privileges for reading {path}.", str(path)) from None

    def exists(self, key: str = "") -> bool:
        return self._path(key).is_file()

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{_TMP_SUFFIX}")
        try:
            with tmp.open("wb") as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        if not if_absent:
            with self.open_write(key) as stream:
                stream.write(data)
            return
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{_TMP_SUFFIX}")
        try:
            with tmp.open("wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            try:
                os.link(tmp, target)  # atomic create-if-absent, unlike os.replace
            except FileExistsError:
                raise ObjectExistsError(str(target)) from None
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Prune folders left empty, up to the root, so that listings stay clean.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def delete_prefix(self, prefix: str) -> int:
        n = super().delete_prefix(prefix)
        if prefix.endswith("/"):
            shutil.rmtree(self._path(prefix), ignore_errors=True)
        return n

    def local_path(self, key: str = "") -> Path | None:
        return self._path(key)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_clients: dict[tuple[str | None, str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def _s3_client(settings: ObjectStoreSettings) -> Any:
    """One boto3 client per endpoint (clients are thread-safe, sessions are not)."""
    cache_key = (settings.s3_endpoint_url, settings.region_name, settings.s3_addressing_style)
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            import boto3
            from botocore.config import Config

            s3_config: dict[str, str] = {}
            if settings.s3_addressing_style:
                s3_config["addressing_style"] = settings.s3_addressing_style
            session = boto3.session.Session()
            region = settings.region_name or session.region_name or "us-east-1"
            client = session.client(
                "s3",
                endpoint_url=settings.s3_endpoint_url or None,
                region_name=region,
                config=Config(s3=s3_config, retries={"max_attempts": 5, "mode": "standard"}),
            )
            _clients[cache_key] = client
        return client


def clear_s3_clients() -> None:
    """Forget cached clients (after the endpoint environment variables change, e.g. in tests)."""
    with _clients_lock:
        _clients.clear()


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class S3ObjectStore(ObjectStore):
    def __init__(self, bucket: str, prefix: str, settings: ObjectStoreSettings) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._store_settings = settings
        self._client = _s3_client(settings)

    def _settings(self) -> ObjectStoreSettings:
        return self._store_settings

    def _full(self, key: str) -> str:
        key = _check_key(key)
        if self.prefix and key:
            return f"{self.prefix}/{key}"
        return key or self.prefix

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def _s3_url(self, full_key: str) -> str:
        return f"s3://{self.bucket}/{full_key}"

    def _translate(self, exc: Exception, full_key: str) -> LocationError:
        code = _error_code(exc)
        url = self._s3_url(full_key)
        if code == "NoSuchBucket":
            return LocationError(f"The bucket {self.bucket} does not exist (reading {url}).", url)
        if code in ("NoSuchKey", "404", "NotFound"):
            return LocationError(f"The object {url} does not exist.", url)
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return LocationError(f"Insufficient privileges for accessing data at {url}.", url)
        return LocationError(f"Cannot access {url}: {exc}", url)

    def _head(self, full_key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket, Key=full_key)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._translate(exc, full_key) from None
        return ObjectInfo(
            key=self._relative(full_key),
            url=self._s3_url(full_key),
            size=int(head["ContentLength"]),
            modified=head["LastModified"].timestamp(),
        )

    def _list_full(self, full_prefix: str) -> list[ObjectInfo]:
        from botocore.exceptions import ClientError

        found: list[ObjectInfo] = []
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    if key.endswith("/"):  # console-made "folder" markers
                        continue
                    found.append(
                        ObjectInfo(
                            key=self._relative(key),
                            url=self._s3_url(key),
                            size=int(obj["Size"]),
                            modified=obj["LastModified"].timestamp(),
                        )
                    )
        except ClientError as exc:
            raise self._translate(exc, full_prefix) from None
        return sorted(found, key=lambda o: o.key)

    def list_objects(self, key: str = "") -> list[ObjectInfo]:
        full = self._full(key)
        if full and not full.endswith("/"):
            single = self._head(full)
            if single is not None:
                return [single]
        folder = full.rstrip("/") + "/" if full else ""
        found = self._list_full(folder)
        if not found:
            # A HEAD on a missing bucket answers a bare 404; say which it was.
            self._check_bucket()
            url = self._s3_url(folder)
            raise LocationError(f"No objects found at {url}.", url)
        return found

    def _check_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            url = f"s3://{self.bucket}"
            if _error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise LocationError(f"The bucket {self.bucket} does not exist.", url) from None
            raise self._translate(exc, "") from None

    def list_prefix(self, prefix: str = "") -> list[ObjectInfo]:
        prefix = _check_key(prefix)
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        return self._list_full(full)

    def open_read(self, key: str = "") -> IO[bytes]:
        from botocore.exceptions import ClientError

        full = self._full(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            raise self._translate(exc, full) from None
        body: IO[bytes] = response["Body"]
        return body

    def read_bytes(self, key: str = "") -> bytes:
        with contextlib.closing(self.open_read(key)) as body:
            return body.read()

    def exists(self, key: str = "") -> bool:
        full = self._full(key)
        return bool(full) and self._head(full) is not None

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        from botocore.exceptions import ClientError

        full = self._full(key)
        # S3 makes an object visible only once its upload completes, which is the atomicity we
        # need; spool locally so that large outputs go up as one (multipart) upload.
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            yield spool
            spool.seek(0)
            try:
                self._client.upload_fileobj(spool, self.bucket, full)
            except ClientError as exc:
                raise self._translate(exc, full) from None

    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        from botocore.exceptions import ClientError

        full = self._full(key)
        extra: dict[str, str] = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            self._client.put_object(Bucket=self.bucket, Key=full, Body=data, **extra)
        except ClientError as exc:
            if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ObjectExistsError(self._s3_url(full)) from None
            raise self._translate(exc, full) from None

    def delete(self, key: str) -> None:
        from botocore.exceptions import ClientError

        full = self._full(key)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _error_code(exc) not in ("NoSuchKey", "404"):
                raise self._translate(exc, full) from None

    def delete_prefix(self, prefix: str) -> int:
        from botocore.exceptions import ClientError

        objects = self.list_prefix(prefix)
        for start in range(0, len(objects), 1000):
            chunk = objects[start : start + 1000]
            try:
                self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self._full(o.key)} for o in chunk], "Quiet": True},
                )
            except ClientError as exc:
                raise self._translate(exc, prefix) from None
        return len(objects)

    def local_path(self, key: str = "") -> Path | None:
        return None


def _open(url: str, settings: ObjectStoreSettings) -> ObjectStore:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "s3":
        if not parts.netloc:
            raise LocationError(f"Invalid Data location. {url} names no bucket.", url)
        return S3ObjectStore(parts.netloc, unquote(parts.path), settings)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise LocationError(f"Invalid Data location. {url} names a remote host.", url)
        return LocalObjectStore(Path(unquote(parts.path)), settings)
    if scheme in ("http", "https"):
        raise LocationError(
            f"Invalid Data location. {url}: http(s) locations are not supported; "
            "use s3://bucket/key, file:// or a local path.",
            url,
        )
    if scheme == "" or len(scheme) == 1:  # a plain path (or a Windows drive letter)
        if not url:
            raise LocationError("Invalid Data location. The location is empty.", url)
        return LocalObjectStore(Path(url).expanduser(), settings)
    raise LocationError(f"Invalid Data location. Unsupported URL scheme in {url}.", url)


def open_location(
    url: str | os.PathLike[str], settings: ObjectStoreSettings | None = None
) -> ObjectStore:
    """The object store rooted at ``url`` (local path, ``file://`` or ``s3://``)."""
    return _open(os.fspath(url), settings or ObjectStoreSettings())


def read_all(store: ObjectStore, key: str = "") -> io.BytesIO:
    """The whole object as a seekable in-memory stream."""
    return io.BytesIO(store.read_bytes(key))
