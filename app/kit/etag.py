"""Strong ETags from row versions; ``If-Match`` / ``If-None-Match`` handling."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Header, Request, Response

from app.db import VersionMixin, touch
from app.errors import PreconditionFailed, PreconditionRequired

logger = logging.getLogger("minqing.etag")

IfMatch = Annotated[str | None, Header()]
"""The ``If-Match`` header of a write that requires it (:func:`write_if_match`: 428 without)."""
OptionalIfMatch = Annotated[str | None, Header(description="optional; 412 when stale")]
"""The ``If-Match`` header of an action that checks it only when sent."""

# The row the current request writes conditionally: named in the 412 when its UPDATE loses a race.
_writing: ContextVar[tuple[type[VersionMixin], Any] | None] = ContextVar("conditional_write", default=None)


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
    _writing.set((type(row), row.id))  # type: ignore[attr-defined]
    require_version(if_match, row.version, required=required)
    touch(row)


async def version_after_lost_race(request: Request, error: Exception) -> int | None:
    """For the 412 of a conditional write whose UPDATE matched no row (``error``, a StaleDataError):
    the version the winner left, so that answer carries ``current_version`` like every other
    ``version_mismatch``. None when it cannot be told (another kind of write, the row gone)."""
    writing = _writing.get()
    if writing is None:
        return None
    model, row_id = writing
    if f"'{model.__tablename__}'" not in str(error):  # type: ignore[attr-defined]
        return None
    try:
        async with request.app.state.read_sessionmaker() as session:
            version = await session.scalar(sa.select(model.version).where(model.id == row_id))  # type: ignore[attr-defined]
    except Exception:  # the 412 stands without it
        logger.warning("current version of %s unavailable", model.__name__, exc_info=True)
        return None
    return int(version) if version is not None else None


def accepts_gzip(request: Request) -> bool:
    """Whether the client takes gzip: ``Accept-Encoding`` names it (or ``*``) with a weight above 0."""
    weights: dict[str, float] = {}
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        weight = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    weight = float(param[2:])
                except ValueError:
                    weight = 0.0
        weights[coding] = weight
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0


def not_modified(request: Request, etag: str) -> bool:
    inm = request.headers.get("if-none-match")
    if not inm:
        return False
    tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
    return "*" in tags or etag in tags


# --- answering with the row's ETag ----------------------------------------------------------------
#
# The three shapes every versioned resource answers in; a route names the row and what to send:
#
#     obj = await service.get(session, principal, obj_id)
#     return conditional(request, response, obj, Out.model_validate(obj))      # GET: 304 or 200
#
#     obj = await service.get(session, principal, obj_id)
#     write_if_match(obj, if_match)
#     obj = await service.update(session, obj, changes)
#     return tagged(response, obj, Out.model_validate(obj))                     # PATCH / action
#
#     return created(response, f"/api/v1/things/{obj.id}", Out.model_validate(obj), obj)  # POST


def tagged(response: Response, row: Any, out: Any) -> Any:
    """``out`` (the representation of ``row``), with ``row``'s version as the response's ETag."""
    response.headers["ETag"] = etag_of(row.version)
    return out


def conditional(request: Request, response: Response, row: Any, out: Any) -> Any:
    """A GET of one versioned ``row``: 304 with its ETag when the client's ``If-None-Match``
    holds it, else ``out`` with the ETag (see :func:`tagged`). ``out`` may be built before the
    check: it is never sent on a 304. Document the 304 with :data:`NOT_MODIFIED`."""
    answer = unchanged(request, row)
    return answer if answer is not None else tagged(response, row, out)


def unchanged(request: Request, row: Any) -> Response | None:
    """The 304 of a GET of ``row`` when ``If-None-Match`` holds its ETag, else None: for a route
    whose representation costs reads of its own, checked before building it."""
    etag = etag_of(row.version)
    return Response(status_code=304, headers={"ETag": etag}) if not_modified(request, etag) else None


def created(response: Response, location: str, out: Any, row: Any = None) -> Any:
    """The 201 of a POST: ``out`` with ``Location``, and the ETag of ``row`` when one is given
    (the versioned row created, that a client edits next with ``If-Match``)."""
    response.headers["Location"] = location
    if row is not None:
        response.headers["ETag"] = etag_of(row.version)
    return out


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified"}}
