"""The storage contract, run alike against a local directory and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.config import Settings
from app.kit.storage import (
    CHUNK_BYTES,
    Entry,
    MigrationReport,
    ObjectMissing,
    ObjectTooLarge,
    Storage,
    migrate_one,
    open_storage,
)
from tests.s3server import S3Server, s3_server  # noqa: F401  (a fixture)

MiB = 1024 * 1024


def local(tmp: Path) -> Storage:
    return open_storage(Settings(env="test", storage_url=tmp.as_uri()))


def s3(server: S3Server, prefix: str | None = None) -> Storage:
    settings = Settings(env="test", **server.settings())  # type: ignore[arg-type]
    url = settings.storage_url + "/" + (prefix or uuid.uuid4().hex)
    return open_storage(settings, url)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return local(tmp_path / "files")
    return s3(request.getfixturevalue("s3_server"))


@pytest.fixture(params=["local→s3", "s3→local"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Storage, Storage]:
    a, b = local(tmp_path / "files"), s3(request.getfixturevalue("s3_server"))
    return (a, b) if request.param == "local→s3" else (b, a)


async def pieces(data: bytes, size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read_all(storage: Storage, key: str) -> bytes:
    download = await storage.open(key)
    return b"".join([chunk async for chunk in download.chunks])


async def test_what_is_put_comes_back_with_its_size_and_hash(storage):
    data = b"%PDF-1.7 " + bytes(range(256)) * 400
    stored = await storage.put("issue/one", pieces(data))
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await storage.size_of("issue/one") == len(data)
    download = await storage.open("issue/one")
    assert download.size == len(data)
    assert b"".join([chunk async for chunk in download.chunks]) == data


async def test_a_big_upload_goes_out_in_parts_and_comes_back_in_chunks(storage):
    """12 MiB, more than two S3 parts: written as a multipart upload, read back in bounded chunks."""
    data = bytes(range(251)) * (12 * MiB // 251)
    stored = await storage.put("issue/big", pieces(data))
    assert stored.size == len(data)
    download = await storage.open("issue/big")
    sizes = []
    digest = hashlib.sha256()
    async for chunk in download.chunks:
        sizes.append(len(chunk))
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert len(sizes) > 1 and max(sizes) < 12 * MiB


async def test_past_the_size_cap_the_upload_stops_and_leaves_nothing(storage):
    consumed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += 1
            yield b"\xff" * MiB

    with pytest.raises(ObjectTooLarge):
        await storage.put("issue/huge", endless(), max_bytes=7 * MiB)
    assert consumed <= 8  # the source is read no further than the cap
    assert await storage.size_of("issue/huge") is None
    with pytest.raises(ObjectMissing):
        await storage.open("issue/huge")


async def test_a_failed_upload_leaves_no_object(storage):
    async def broken() -> AsyncIterator[bytes]:
        yield b"\x89PNG" + b"\x00" * MiB
        yield b"\x00" * (6 * MiB)
        raise ConnectionResetError("the phone went away")

    with pytest.raises(ConnectionResetError):
        await storage.put("issue/cut", broken())
    assert await storage.size_of("issue/cut") is None


async def test_delete_forgets_and_deleting_twice_is_fine(storage):
    await storage.put("issue/gone", pieces(b"\xff\xd8\xff" + b"x" * 100))
    await storage.delete("issue/gone")
    assert await storage.size_of("issue/gone") is None
    with pytest.raises(ObjectMissing):
        await storage.open("issue/gone")
    await storage.delete("issue/gone")
    await storage.delete("never/was")


async def test_only_s3_signs_urls(storage):
    await storage.put("issue/signed", pieces(b"\xff\xd8\xff photo"))
    url = await storage.presigned_get("issue/signed", 60)
    if storage.is_local:
        assert url is None
    else:
        import httpx

        assert url is not None and "X-Amz-Signature" in url
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).content == b"\xff\xd8\xff photo"
            tampered = url.replace("issue/signed", "issue/other")
            assert (await client.get(tampered)).status_code == 403


async def test_migrate_copies_verifies_and_resumes(pair):
    source, target = pair
    files = {f"i/{n}": bytes([n]) * (1000 + n) for n in range(5)}
    for key, data in files.items():
        await source.put(key, pieces(data))
    entries = [Entry(key, len(data), hashlib.sha256(data).hexdigest()) for key, data in files.items()]

    # An interrupted run: two files made it across.
    first = MigrationReport()
    for entry in entries[:2]:
        await migrate_one(source, target, entry, first, delete_source=False)
    assert first.copied == 2

    # The rerun skips what is there, copies the rest, and a second rerun does nothing.
    again = MigrationReport()
    for entry in entries:
        await migrate_one(source, target, entry, again, delete_source=False)
    assert (again.copied, again.already_there, again.failed) == (3, 2, False)
    for key, data in files.items():
        assert await read_all(target, key) == data
    last = MigrationReport()
    for entry in entries:
        await migrate_one(source, target, entry, last, delete_source=True)
    assert (last.copied, last.already_there, last.deleted_from_source) == (0, 5, 5)
    assert [await source.size_of(key) for key in files] == [None] * 5


async def test_migrate_reports_missing_and_corrupt_files_and_copies_neither(pair):
    source, target = pair
    await source.put("i/changed", pieces(b"what is there now"))
    report = MigrationReport()
    await migrate_one(source, target, Entry("i/absent", 10, "0" * 64), report, delete_source=True)
    recorded = Entry("i/changed", 17, hashlib.sha256(b"what was uploaded").hexdigest())
    await migrate_one(source, target, recorded, report, delete_source=True)
    assert (report.missing, report.corrupt, report.failed) == (["i/absent"], ["i/changed"], True)
    assert await target.size_of("i/changed") is None
    assert await source.size_of("i/changed") == 17  # never deleted from the source unverified


def test_storage_urls_are_checked():
    with pytest.raises(ValueError, match="storage URLs"):
        open_storage(Settings(env="test"), "ftp://files")
    with pytest.raises(ValueError, match="bucket"):
        open_storage(Settings(env="test"), "s3:///nobucket")
    with pytest.raises(ValueError):
        Settings(env="test", storage_url="/var/lib/minqing")
