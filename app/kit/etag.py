"""Strong ETags from row versions; ``If-Match`` / ``If-None-Match`` handling."""

from __future__ import annotations

from fastapi import Request

from app.db import VersionMixin, touch
from app.errors import PreconditionFailed, PreconditionRequired


def etag_of(version: int | str) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """Return the version a client says it has, or None when no header was sent."""
    if value is None:
        return None
    tag = value.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    try:
        return int(tag)
    except ValueError:
        raise PreconditionFailed(
            f"If-Match must be an ETag from this service, like '\"3\"'; got {value!r}.", code="invalid_if_match"
        ) from None


def require_version(if_match: str | None, current: int, *, required: bool = True) -> None:
    """Check ``If-Match`` against ``current``: 428 when missing (if required), 412 when stale."""
    wanted = parse_if_match(if_match)
    if wanted is None:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag you last read, so concurrent edits are not lost.",
                code="if_match_required",
            )
        return
    if wanted != current:
        raise PreconditionFailed(
            f"The resource is at version {current}; you sent {wanted}. Reload and retry.",
            code="version_mismatch",
            current_version=current,
        )


def write_if_match(row: VersionMixin, if_match: str | None, *, required: bool = True) -> None:
    """Begin a conditional write of ``row``, the one way a versioned row is changed on a client's
    request: ``If-Match`` is checked against the version read (428 / 412 as in
    :func:`require_version`), and the request's flush writes the row, whatever the body changes,
    with ``WHERE version = <that version>`` (``VersionMixin``). Of several writers holding one
    ETag exactly one succeeds; each other one gets 412, either here (it read the row after the
    winner committed) or from its UPDATE, which matches no row (it read the row before)."""
    require_version(if_match, row.version, required=required)
    touch(row)


def not_modified(request: Request, etag: str) -> bool:
    inm = request.headers.get("if-none-match")
    if not inm:
        return False
    tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
    return "*" in tags or etag in tags
