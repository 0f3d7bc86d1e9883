"""Strong ETags from row versions; ``If-Match`` / ``If-None-Match`` handling."""

from __future__ import annotations

from fastapi import Request

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


def not_modified(request: Request, etag: str) -> bool:
    inm = request.headers.get("if-none-match")
    if not inm:
        return False
    tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
    return "*" in tags or etag in tags
