"""Where files' bytes live: a local directory or an S3 bucket, both through obstore (Rust's object_store).

One small interface over the two, so the code above never knows which it has:

* :meth:`Storage.put` takes an async iterator of chunks and streams it out (a multipart upload on S3,
  a staged file renamed into place locally), counting and hashing as the bytes pass; past ``max_bytes``
  it stops and nothing is left behind;
* :meth:`Storage.open` streams an object back in chunks; :meth:`Storage.presigned_get` gives a
  short-lived URL instead, where the backend can sign one (S3);
* :meth:`Storage.delete` forgets an object (a missing one is not an error).

``storage_url`` chooses the backend: ``file:///srv/minqing/attachments`` (a relative ``file://var/x``
is taken from the working directory), or ``s3://bucket`` / ``s3://bucket/prefix`` with the endpoint and
credentials from the ``s3_*`` settings. Unset, the local directory ``attachments_dir`` is used, as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlsplit

import obstore
import obstore.exceptions
from fastapi import Depends, Request
from obstore.store import LocalStore, S3Store

from app.errors import ServiceUnavailable

if TYPE_CHECKING:
    from obstore.store import ClientConfig

    from app.config import Settings

# Read and write in pieces of this size.
CHUNK_BYTES = 64 * 1024
# A streamed upload goes out in parts of this size, at most two in flight: what one upload holds in
# memory. S3 refuses parts under 5 MiB (but the last); a local file takes smaller ones.
S3_PART_BYTES = 5 * 1024 * 1024
LOCAL_PART_BYTES = 1024 * 1024
PARTS_IN_FLIGHT = 2


log = logging.getLogger("minqing.storage")


@contextmanager
def _reachable(what: str) -> Iterator[None]:
    """A store that cannot be reached or refuses us is an outage (503, retry), never a 500."""
    try:
        yield
    except FileNotFoundError:
        raise
    except obstore.exceptions.BaseError as exc:
        log.warning("file storage %s failed: %s", what, str(exc).splitlines()[0][:300])
        raise ServiceUnavailable("The file storage is unavailable; retry shortly.", code="storage_unavailable") from exc


class ObjectTooLarge(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"more than {max_bytes} bytes")
        self.max_bytes = max_bytes


class ObjectMissing(Exception):
    pass


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str


@dataclass
class Download:
    size: int
    chunks: AsyncIterator[bytes]


class Storage:
    """One backend (a local directory or an S3 bucket, optionally under a prefix)."""

    def __init__(self, store: LocalStore | S3Store, url: str) -> None:
        self.store = store
        self.url = url  # for messages: never holds credentials
        self.is_local = isinstance(store, LocalStore)

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None) -> Stored:
        """Stream ``chunks`` into ``key``; its size and SHA-256 are counted on the way.

        Past ``max_bytes`` the upload is abandoned (:class:`ObjectTooLarge`) and leaves no object."""
        digest = hashlib.sha256()
        size = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal size
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ObjectTooLarge(max_bytes)
                digest.update(chunk)
                yield chunk

        part = LOCAL_PART_BYTES if self.is_local else S3_PART_BYTES
        with _reachable("write"):
            await obstore.put_async(self.store, key, counted(), chunk_size=part, max_concurrency=PARTS_IN_FLIGHT)
        return Stored(size=size, sha256=digest.hexdigest())

    async def open(self, key: str) -> Download:
        """The object's size and its bytes as a stream of chunks; :class:`ObjectMissing` if there is none."""
        try:
            with _reachable("read"):
                result = await obstore.get_async(self.store, key)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        stream = result.stream(min_chunk_size=CHUNK_BYTES)

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in stream:
                yield bytes(chunk)

        return Download(size=result.meta["size"], chunks=chunks())

    async def size_of(self, key: str) -> int | None:
        """The stored size of ``key``, or None when there is no such object."""
        try:
            with _reachable("read"):
                meta = await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return None
        return meta["size"]

    async def delete(self, key: str) -> None:
        try:
            with _reachable("delete"):
                await obstore.delete_async(self.store, key)
        except FileNotFoundError:
            pass

    async def presigned_get(self, key: str, seconds: int) -> str | None:
        """A URL that fetches ``key`` without credentials for ``seconds``; None where the backend cannot sign."""
        if not isinstance(self.store, S3Store):
            return None
        with _reachable("signing"):
            return await obstore.sign_async(self.store, "GET", key, dt.timedelta(seconds=seconds))

    async def keys(self, prefix: str | None = None) -> AsyncIterator[str]:
        """Every key (under ``prefix``), in no particular order."""
        async for batch in obstore.list(self.store, prefix):
            for meta in batch:
                yield meta["path"]


def default_url(settings: Settings) -> str:
    return settings.storage_url or Path(settings.attachments_dir).resolve().as_uri()


def open_storage(settings: Settings, url: str | None = None) -> Storage:
    """The backend named by ``url`` (default: the configured ``storage_url``)."""
    url = url or default_url(settings)
    parts = urlsplit(url)
    if parts.scheme == "file":
        # file:///abs/dir, or file://relative/dir taken from the working directory.
        root = Path(parts.netloc + parts.path) if parts.netloc else Path(parts.path)
        root.mkdir(parents=True, exist_ok=True)
        return Storage(LocalStore(root.resolve(), mkdir=True), url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"{url}: an s3:// URL names its bucket (s3://bucket or s3://bucket/prefix)")
        options: ClientConfig = {"connect_timeout": "5s", "timeout": "60s"}
        config: dict[str, Any] = {"region": settings.s3_region}
        if settings.s3_endpoint_url:
            config["endpoint"] = settings.s3_endpoint_url
            options["allow_http"] = settings.s3_endpoint_url.startswith("http://")
        if settings.s3_access_key_id:
            config["access_key_id"] = settings.s3_access_key_id
            config["secret_access_key"] = settings.s3_secret_access_key.get_secret_value()
        store = S3Store(
            parts.netloc,
            prefix=parts.path.strip("/") or None,
            client_options=options,
            retry_config={"max_retries": 3, "retry_timeout": dt.timedelta(seconds=30)},
            **config,
        )
        return Storage(store, url)
    raise ValueError(f"{url}: storage URLs are file://… or s3://bucket[/prefix]")


async def get_storage(request: Request) -> Storage:
    """FastAPI dependency: the application's storage (opened on first use, then kept by the application)."""
    storage: Storage | None = getattr(request.app.state, "storage", None)
    if storage is None:
        storage = request.app.state.storage = open_storage(request.app.state.settings)
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]


def content_disposition(filename: str) -> str:
    """``attachment`` with the file's name (RFC 6266; non-ASCII names as ``filename*``), as FileResponse has it."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


# --- moving files between backends (``minqing storage migrate``) ---------------------------------


@dataclass(frozen=True)
class Entry:
    """An object the database knows of: where it is, and the size and SHA-256 it was stored with."""

    key: str
    size: int
    sha256: str


@dataclass
class MigrationReport:
    copied: int = 0
    already_there: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    deleted_from_source: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.missing or self.corrupt)


async def migrate_one(
    source: Storage, target: Storage, entry: Entry, report: MigrationReport, *, delete_source: bool
) -> None:
    """Copy one object unless the target already holds it at the recorded size; verify what was copied.

    Idempotent and resumable: a rerun skips what an earlier (perhaps interrupted) run finished, and a copy
    cut off half-way never counts as there (an upload becomes visible only once complete)."""
    if await target.size_of(entry.key) == entry.size:
        report.already_there += 1
    else:
        try:
            download = await source.open(entry.key)
        except ObjectMissing:
            report.missing.append(entry.key)
            return
        stored = await target.put(entry.key, download.chunks)
        if stored.sha256 != entry.sha256 or stored.size != entry.size:
            await target.delete(entry.key)
            report.corrupt.append(entry.key)
            return
        report.copied += 1
    if delete_source:
        await source.delete(entry.key)
        report.deleted_from_source += 1
