"""Attachment storage (照片 / 材料): type sniffed from magic bytes, written off the event loop."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import anyio

from app.errors import UnsupportedMediaType, ValidationFailed, field_error

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


def path_of(root: Path, issue_id: uuid.UUID, attachment_id: uuid.UUID) -> Path:
    return root / str(issue_id) / str(attachment_id)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(target)


async def store(root: Path, issue_id: uuid.UUID, attachment_id: uuid.UUID, data: bytes) -> str:
    """Write the file in a worker thread; returns its SHA-256."""
    await anyio.to_thread.run_sync(_write, path_of(root, issue_id, attachment_id), data)
    return hashlib.sha256(data).hexdigest()


async def remove(root: Path, issue_id: uuid.UUID, attachment_id: uuid.UUID) -> None:
    await anyio.to_thread.run_sync(lambda: path_of(root, issue_id, attachment_id).unlink(missing_ok=True))
