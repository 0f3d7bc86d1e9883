"""Attachments through the API, stored in a local directory or in S3 (a real SeaweedFS): streamed in, scoped out."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.kit.storage import CHUNK_BYTES, Storage, open_storage
from app.middleware import RequestMiddleware
from tests.conftest import auth
from tests.issues.helpers import create
from tests.s3server import S3Server, s3_server  # noqa: F401  (a fixture)

MiB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
BOUNDARY = "minqing-test-boundary"


def use_backend(settings: Settings, backend: str, tmp_path: Path, server: S3Server | None) -> None:
    """Point the (not yet opened) application storage at a fresh local directory or S3 prefix."""
    if backend == "local":
        settings.storage_url = (tmp_path / "files").as_uri()
        return
    assert server is not None
    apply_s3(settings, server)
    settings.storage_url += "/" + uuid.uuid4().hex


def apply_s3(settings: Settings, server: S3Server) -> None:
    validated = Settings(env="test", **server.settings())  # type: ignore[arg-type]
    for name in server.settings():
        setattr(settings, name, getattr(validated, name))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> str:
    server = request.getfixturevalue("s3_server") if request.param == "s3" else None
    use_backend(settings, request.param, tmp_path, server)
    return request.param


def storage_of(app: Any) -> Storage:
    return app.state.storage if getattr(app.state, "storage", None) else open_storage(app.state.settings)


async def keys(storage: Storage) -> list[str]:
    return sorted([k async for k in storage.keys()])


async def multipart(head: bytes, size: int, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    """A multipart body of ``size`` file bytes made as it is sent (no Content-Length: chunked)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nbefore\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + head
    sent = len(head)
    while sent < size:
        n = min(chunk, size - sent)
        yield bytes([sent % 251]) * n
        sent += n
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def streamed_png(size: int) -> bytes:
    """What :func:`multipart` sends as the file."""
    out = bytearray(PNG[:8])
    while len(out) < size:
        n = min(256 * 1024, size - len(out))
        out += bytes([len(out) % 251]) * n
    return bytes(out)


async def test_upload_download_and_scope(client, app, backend):
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    r = await client.post(base, files={"file": ("门口 照片.png", PNG, "image/png")}, headers=auth("grid_worker"))
    assert r.status_code == 201, r.text
    att = r.json()
    assert (att["size"], att["content_type"]) == (len(PNG), "image/png")
    assert await keys(storage_of(app)) == [f"{issue['id']}/{att['id']}"]

    got = await client.get(f"{base}/{att['id']}", headers=auth("grid_worker"))
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png" and got.headers["content-length"] == str(len(PNG))
    assert (
        got.headers["content-disposition"] == "attachment; filename*=utf-8''%E9%97%A8%E5%8F%A3%20%E7%85%A7%E7%89%87.png"
    )
    for outsider in ("grid_worker_g2", "other_admin"):
        r = await client.get(f"{base}/{att['id']}", headers=auth(outsider))
        assert r.status_code == 404 and r.json()["code"] == "issue_not_found"
    r = await client.get(f"{base}/{uuid.uuid4()}", headers=auth("grid_worker"))
    assert r.status_code == 404 and r.json()["code"] == "attachment_not_found"


async def test_a_file_gone_from_the_storage_is_404_not_500(client, app, backend):
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    att = (await client.post(base, files={"file": ("a.png", PNG)}, headers=auth("grid_worker"))).json()
    await storage_of(app).delete(f"{issue['id']}/{att['id']}")
    r = await client.get(f"{base}/{att['id']}", headers=auth("grid_worker"))
    assert r.status_code == 404 and r.json()["code"] == "attachment_not_found"


async def test_refused_files_leave_nothing_behind(client, app, backend):
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    r = await client.post(base, files={"file": ("x.png", b"MZ\x90\x00evil" * 100)}, headers=auth("grid_worker"))
    assert r.status_code == 415 and r.json()["code"] == "unsupported_file_type"
    r = await client.post(base, files={"file": ("e.png", b"")}, headers=auth("grid_worker"))
    assert r.status_code == 422 and r.json()["code"] == "empty_file"
    r = await client.post(base, files={"file": ("a.png", PNG)}, headers=auth("grid_worker_g2"))
    assert r.status_code == 404
    assert (await client.get(base, headers=auth("grid_worker"))).json() == []
    assert await keys(storage_of(app)) == []


async def test_an_upload_past_the_limit_is_413_and_stores_nothing(client, app, settings, backend):
    limit = settings.max_upload_bytes
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    r = await client.post(
        base,
        content=multipart(PNG[:8], limit + MiB),
        headers={**auth("grid_worker"), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "payload_too_large" and r.json()["max_bytes"] == limit
    assert (await client.get(base, headers=auth("grid_worker"))).json() == []
    assert await keys(storage_of(app)) == []


async def test_a_big_upload_is_streamed_to_the_storage_in_chunks(client, app, backend):
    """A 6 MiB photo sent as it is made: the storage receives it piece by piece, never as one buffer."""
    storage = app.state.storage = open_storage(app.state.settings)
    seen: list[int] = []
    put = storage.put

    async def spying_put(key: str, chunks: AsyncIterator[bytes], **kw: Any) -> Any:
        async def spied() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                seen.append(len(chunk))
                yield chunk

        return await put(key, spied(), **kw)

    storage.put = spying_put  # type: ignore[method-assign]
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    size = 6 * MiB
    r = await client.post(
        base,
        content=multipart(PNG[:8], size),
        headers={**auth("grid_worker"), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert r.status_code == 201, r.text
    expected = streamed_png(size)
    att = r.json()
    assert (att["size"], att["kind"]) == (size, "before")
    assert sum(seen) == size and max(seen) <= CHUNK_BYTES and len(seen) >= size // CHUNK_BYTES
    got = await client.get(f"{base}/{att['id']}", headers=auth("grid_worker"))
    assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(expected).hexdigest()


async def test_the_server_passes_an_upload_on_as_it_arrives():
    """The request middleware hands a multipart body to the application in the pieces it came in, counted,
    instead of gathering it whole first (JSON bodies are still read whole, to check them before parsing)."""
    received: list[int] = []

    async def upload_app(scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            received.append(len(message.get("body", b"")))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestMiddleware(upload_app, max_body_bytes=1024 * 1024, max_upload_bytes=8 * MiB, access_log_enabled=False)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.post(
            "/api/v1/issues/x/attachments",
            content=multipart(PNG[:8], 4 * MiB),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
    assert r.status_code == 204
    assert sum(received) > 4 * MiB and len(received) > 10 and max(received) <= 256 * 1024 + 512


async def test_presigned_redirect_keeps_the_scope_check(client, app, settings, backend):
    settings.storage_download = "redirect"
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    att = (await client.post(base, files={"file": ("a.png", PNG)}, headers=auth("grid_worker"))).json()
    r = await client.get(f"{base}/{att['id']}", headers=auth("grid_worker"))
    if backend == "local":
        assert r.status_code == 200 and r.content == PNG  # nothing to sign: the API streams the file
    else:
        assert r.status_code == 307 and r.headers["cache-control"] == "private, no-store"
        location = r.headers["location"]
        assert f"{issue['id']}/{att['id']}" in location and "X-Amz-Expires=60" in location
        async with httpx.AsyncClient() as direct:
            assert (await direct.get(location)).content == PNG
    r = await client.get(f"{base}/{att['id']}", headers=auth("grid_worker_g2"))
    assert r.status_code == 404 and "location" not in r.headers


async def test_cli_moves_the_files_to_s3_and_back(client, app, settings, db_url, tmp_path, request, monkeypatch):
    """`minqing storage migrate`: local → S3, idempotent, then S3 → local with the source deleted."""
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.config import get_settings

    server = request.getfixturevalue("s3_server")
    local_dir = tmp_path / "attachments"
    settings.storage_url = ""
    settings.attachments_dir = local_dir
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    ids = []
    for n in range(3):
        body = PNG + bytes([n]) * 100
        r = await client.post(base, files={"file": (f"{n}.png", body)}, headers=auth("grid_worker"))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    s3_url = f"{server.settings()['storage_url']}/{uuid.uuid4().hex}"

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MINQING_ATTACHMENTS_DIR", str(local_dir))
    for name, value in server.settings().items():
        monkeypatch.setenv(f"MINQING_{name.upper()}", str(value))
    monkeypatch.setenv("MINQING_STORAGE_URL", s3_url)

    def run(*args: str) -> Any:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, ["storage", "migrate", *args])
        finally:
            get_settings.cache_clear()

    first = await asyncio.to_thread(run)
    assert first.exit_code == 0, first.output
    assert "3 copied, 0 already there" in first.output
    again = await asyncio.to_thread(run)
    assert again.exit_code == 0 and "0 copied, 3 already there" in again.output, again.output

    # The service now reads from S3: the same downloads, the same scope.
    apply_s3(settings, server)
    settings.storage_url = s3_url
    app.state.storage = None
    for n, att_id in enumerate(ids):
        got = await client.get(f"{base}/{att_id}", headers=auth("grid_worker"))
        assert got.status_code == 200 and got.content == PNG + bytes([n]) * 100

    # And back, deleting from S3; a file lost meanwhile is named and fails the run (exit 1).
    back_dir = tmp_path / "back"
    await storage_of(app).delete(f"{issue['id']}/{ids[0]}")
    back = await asyncio.to_thread(run, "--from", s3_url, "--to", back_dir.as_uri(), "--delete-source")
    assert back.exit_code == 1, back.output
    assert f"missingfromthesource:{issue['id']}/{ids[0]}" in "".join(back.output.split())  # rich wraps lines
    assert "2 copied" in back.output
    assert sorted(p.name for p in (back_dir / issue["id"]).iterdir()) == sorted(ids[1:])
    assert await keys(storage_of(app)) == []

    same = await asyncio.to_thread(run, "--from", s3_url, "--to", s3_url)
    assert same.exit_code == 2


async def test_an_unreachable_store_is_503_and_records_nothing(client, app, settings, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens there once the socket is closed
    issue = await create(client)
    base = f"/api/v1/issues/{issue['id']}/attachments"
    settings.storage_url = (tmp_path / "files").as_uri()
    att = (await client.post(base, files={"file": ("a.png", PNG)}, headers=auth("grid_worker"))).json()

    down = Settings(
        env="test",
        storage_url="s3://minqing-files",
        s3_endpoint_url=f"http://127.0.0.1:{closed_port}",
        s3_access_key_id="x",
        s3_secret_access_key="y",
    )
    app.state.storage = open_storage(down)
    r = await client.post(base, files={"file": ("b.png", PNG)}, headers=auth("grid_worker"))
    assert r.status_code == 503 and r.json()["code"] == "storage_unavailable" and r.headers["retry-after"]
    r = await client.get(f"{base}/{att['id']}", headers=auth("grid_worker"))
    assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
    assert [a["id"] for a in (await client.get(base, headers=auth("grid_worker"))).json()] == [att["id"]]
