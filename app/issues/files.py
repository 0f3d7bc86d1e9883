"""Attachments (照片 / 材料): type sniffed from the first bytes, streamed into the storage (app/kit/storage.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from app.config import Settings
from app.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed, field_error
from app.kit.storage import CHUNK_BYTES, ObjectMissing, ObjectTooLarge, Storage, Stored, content_disposition

ALLOWED_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes, among :data:`ALLOWED_TYPES`."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check(data: bytes) -> str:
    if not data:
        raise ValidationFailed("The file is empty.", code="empty_file", errors=[field_error("file", "empty")])
    content_type = sniff(data[:16])
    if content_type is None:
        raise UnsupportedMediaType(
            "Only JPEG, PNG, WebP and PDF files are accepted (checked by content, not by name).",
            code="unsupported_file_type",
            allowed=list(ALLOWED_TYPES),
        )
    return content_type


def key_of(issue_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    """Where an attachment lives in the storage (``<issue id>/<attachment id>``, as the files always have)."""
    return f"{issue_id}/{attachment_id}"


async def chunks_of(file: UploadFile) -> AsyncIterator[bytes]:
    """An uploaded file, read in pieces (never whole into memory)."""
    while chunk := await file.read(CHUNK_BYTES):
        yield chunk


async def store(
    storage: Storage, issue_id: uuid.UUID, attachment_id: uuid.UUID, chunks: AsyncIterator[bytes], *, max_bytes: int
) -> tuple[str, Stored]:
    """Sniff the type from the first bytes, then stream the file into the storage, hashed on the way.

    Returns the content type and the stored size and SHA-256; 415 / 422 ``empty_file`` before anything is
    written, 413 past ``max_bytes`` (and nothing is left behind)."""
    head = b""
    while len(head) < 16:
        try:
            head += await anext(chunks)
        except StopAsyncIteration:
            break
    content_type = check(head)

    async def whole() -> AsyncIterator[bytes]:
        yield head
        async for chunk in chunks:
            yield chunk

    try:
        stored = await storage.put(key_of(issue_id, attachment_id), whole(), max_bytes=max_bytes)
    except ObjectTooLarge as exc:
        raise PayloadTooLarge(
            f"The file exceeds {exc.max_bytes} bytes.",
            code="payload_too_large",
            errors=[field_error("file", "too large", max_bytes=exc.max_bytes)],
            max_bytes=exc.max_bytes,
        ) from exc
    return content_type, stored


async def remove(storage: Storage, issue_id: uuid.UUID, attachment_id: uuid.UUID) -> None:
    await storage.delete(key_of(issue_id, attachment_id))


async def download(
    storage: Storage, settings: Settings, key: str, *, content_type: str, filename: str, thing: str
) -> Response:
    """A stored file the caller may read: a redirect to a short-lived presigned URL when the
    storage gives one and ``MINQING_STORAGE_DOWNLOAD`` is ``redirect``, else the bytes streamed
    through; 404 ``attachment_not_found`` (naming ``thing``) when the object is gone."""
    if settings.storage_download == "redirect":
        url = await storage.presigned_get(key, settings.storage_presign_seconds)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "private, no-store"})
    try:
        found = await storage.open(key)
    except ObjectMissing:
        raise NotFound(f"No such {thing}.", code="attachment_not_found") from None
    return StreamingResponse(
        found.chunks,
        media_type=content_type,
        headers={"Content-Length": str(found.size), "Content-Disposition": content_disposition(filename)},
    )
