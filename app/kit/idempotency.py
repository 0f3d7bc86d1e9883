"""``Idempotency-Key`` for creating POSTs: a retry replays the first response, byte for byte.

Policy (documented on every route that uses it):

* Keys are scoped to the caller (:attr:`Principal.idempotency_owner`: the user, or the API key).
* The request does its work first; then the key is inserted already completed with the response,
  in the same transaction as the work (``INSERT … ON CONFLICT DO NOTHING``), so a key exists
  exactly when its write committed.
* A retry with the same method, path and body gets the stored status, body, ``Location`` and
  ``ETag``. The same key with a different request → 422 ``idempotency_key_reused``.
* A retry whose own run fails (the points its first run spent are gone), or that finds the key
  inserted by its first run when it comes to insert it, rolls its own work back and replays.
* While the first request is still running its uncommitted key holds a row lock; a retry waits
  at most :data:`CLAIM_LOCK_TIMEOUT_MS` for it, then gets 409 ``idempotency_in_progress``.
* Keys are kept at least :data:`RETENTION` (30 days); :func:`purge` deletes older ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import sqlalchemy as sa
from fastapi import Header, Request, Response
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, DriverStatement, ReadPool, is_database_unavailable
from app.errors import Conflict, ValidationFailed, field_error
from app.kit import clock

RETENTION = dt.timedelta(days=30)
CLAIM_LOCK_TIMEOUT_MS = 1000
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("location", "etag", "content-type")

POLICY_DOC = (
    "Send `Idempotency-Key` (≤ 255 characters, e.g. a UUID) to make retries safe: a retry with the "
    "same key and body replays the first response (same status and body, header "
    "`Idempotent-Replayed: true`); the same key with another body → 422 `idempotency_key_reused`; "
    "a retry while the first request is still running gets the first response when that one "
    "finishes, or 409 `idempotency_in_progress` if it takes more than a second longer. Keys are "
    "per caller and kept for 30 days."
)

KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", description=POLICY_DOC)]
"""The ``Idempotency-Key`` header of a POST that retries may repeat (see :func:`once`)."""


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None] = mapped_column()
    response_body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column()
    completed_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (sa.Index("ix_idempotency_keys_created_at", "created_at"),)


async def fingerprint(request: Request) -> str:
    body = await request.body()
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.url.path.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _is_lock_timeout(exc: Exception) -> bool:
    """A lock timeout, from a statement of the session (wrapped by SQLAlchemy) or of the driver."""
    orig = getattr(exc, "orig", exc)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return sqlstate == "55P03" or "LockNotAvailable" in type(getattr(orig, "__cause__", orig)).__name__


@dataclass(frozen=True)
class Pending:
    """A valid key with its request's fingerprint, not yet claimed (see :func:`pending`)."""

    owner: str
    key: str
    fingerprint: str


async def pending(request: Request, owner: str, key: str | None) -> Pending | None:
    """Check ``key`` and fingerprint the request, without touching the database; ``None`` when
    no key was sent. Raises 422 ``invalid_idempotency_key``."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key must be 1–255 printable characters.",
            code="invalid_idempotency_key",
            errors=[field_error("Idempotency-Key", "1–255 printable characters")],
        )
    return Pending(owner, key, await fingerprint(request))


@contextmanager
def lock_timeout_as_conflict() -> Iterator[None]:
    """A claim that timed out waiting for another request's uncommitted claim → 409."""
    try:
        yield
    except (DBAPIError, asyncpg.PostgresError) as exc:
        if _is_lock_timeout(exc):
            raise _in_progress() from None
        raise


# The key is inserted already completed with the response, by the statement that writes the
# request's work (the create of an issue: :mod:`app.issues.intake`) or after it (:func:`once`);
# a request with nothing to do under a key already used reads it first (:data:`LOOKUP_JOIN` with
# its own reads, :func:`stored`). ``idem_cfg`` sets the lock timeout before the insert runs (the
# insert reads from it); :data:`CLAIMED` restores the previous timeout only after the insert has
# run (its argument depends on the insert's result), and says whether this request inserted it.
LOOKUP_JOIN = "LEFT JOIN idempotency_keys idem ON idem.owner = :idem_owner AND idem.key = :idem_key"
LOOKUP_COLUMNS = (
    "idem.fingerprint AS idem_fingerprint, idem.status_code AS idem_status, idem.response_body AS idem_body, "
    "idem.response_headers AS idem_headers"
)
CLAIM_COMPLETED_CTES = f"""idem_cfg AS MATERIALIZED (
    SELECT current_setting('lock_timeout') AS prev,
           set_config('lock_timeout', '{CLAIM_LOCK_TIMEOUT_MS}ms', true) AS lock_timeout
), idem_claim AS (
    INSERT INTO idempotency_keys (owner, key, fingerprint, created_at, status_code, response_body,
        response_headers, completed_at)
    SELECT CAST(:idem_owner AS varchar), CAST(:idem_key AS varchar), CAST(:idem_fingerprint AS varchar),
           CAST(:idem_at AS timestamptz), CAST(:idem_status AS integer), CAST(:idem_body AS bytea),
           CAST(CAST(:idem_headers AS text) AS jsonb), CAST(:idem_at AS timestamptz)
    FROM idem_cfg
    ON CONFLICT (owner, key) DO NOTHING
    RETURNING key
)"""
CLAIMED = """(
    set_config('lock_timeout', (SELECT prev FROM idem_cfg WHERE (SELECT count(*) FROM idem_claim) >= 0), true)
    IS NOT NULL AND EXISTS (SELECT FROM idem_claim)
)"""
_CLAIM_COMPLETED = DriverStatement(sa.text(f"WITH {CLAIM_COMPLETED_CTES} SELECT {CLAIMED} AS inserted"))


def lookup_params(p: Pending) -> dict[str, Any]:
    """Bind parameters of :data:`LOOKUP_JOIN`."""
    return {"idem_owner": p.owner, "idem_key": p.key}


def claim_completed_params(p: Pending, response: Response) -> dict[str, Any]:
    """Bind parameters of :data:`CLAIM_COMPLETED_CTES`: the key, completed with ``response``."""
    headers = {k: v for k, v in response.headers.items() if k.lower() in REPLAYED_HEADERS}
    return {
        "idem_owner": p.owner,
        "idem_key": p.key,
        "idem_fingerprint": p.fingerprint,
        "idem_at": clock.now(),
        "idem_status": response.status_code,
        "idem_body": bytes(response.body),
        "idem_headers": json.dumps(headers),
    }


def stored(p: Pending, row: Any) -> Response | None:
    """What :data:`LOOKUP_COLUMNS` found under the key: ``None`` when it is unused, else the
    response to replay. Raises 422 ``idempotency_key_reused`` or 409 ``idempotency_in_progress``."""
    if row["idem_fingerprint"] is None:
        return None
    return _replay(p, row["idem_fingerprint"], row["idem_status"], row["idem_body"], row["idem_headers"])


async def replay_after_lost_race(on: AsyncSession | ReadPool, p: Pending) -> Response:
    """The response stored by the request that inserted the key first (see :data:`CLAIM_COMPLETED_CTES`)."""
    row = await _LOOKUP.fetchrow(on, **lookup_params(p))
    response = stored(p, row)
    if response is None:  # pragma: no cover - the key was there a moment ago and is kept 30 days
        raise _in_progress()
    return response


_LOOKUP = DriverStatement(sa.text(f"SELECT {LOOKUP_COLUMNS} FROM (SELECT) AS one {LOOKUP_JOIN}"))


class Replay(Exception):
    """Raised to answer with a stored response once the request's own work has been rolled back
    (its handler sends :attr:`response`)."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


async def once(
    session: AsyncSession, request: Request, owner: str, key: str | None, respond: Callable[[], Awaitable[Response]]
) -> Response:
    """Answer a request once per ``key`` (:data:`POLICY_DOC`): ``respond`` does the work, then the
    key is inserted already completed with its response, in the same transaction. A key that is
    there already — a retry of a request that completed, before or while this one ran — rolls
    this request's work back (:class:`Replay`) and replays the stored response; so does a retry
    whose own run was refused. Without a key, ``respond`` simply runs::

        return await idempotency.once(session, request, principal.idempotency_owner, key, lambda: _create(...))
    """
    p = await pending(request, owner, key)
    if p is None:
        return await respond()
    try:
        response = await respond()
    except Exception as exc:
        earlier = await _stored_after_failure(session, p, exc)
        if earlier is not None:
            raise Replay(earlier) from None
        raise
    with lock_timeout_as_conflict():
        row = await _CLAIM_COMPLETED.write(session, **claim_completed_params(p, response))
    if not row["inserted"]:
        raise Replay(await replay_after_lost_race(session, p))
    return response


async def _stored_after_failure(session: AsyncSession, p: Pending, exc: Exception) -> Response | None:
    """What is stored under the key of a request whose work failed, read on a connection of its
    own (the request's transaction may be aborted); None when nothing is, or it cannot be read."""
    if is_database_unavailable(exc):
        return None
    engine = session.bind
    on: Any = (ReadPool.of(engine) or engine) if isinstance(engine, AsyncEngine) else None
    if on is None:  # a session on a connection (tests' own transactions): nothing else sees its rows
        return None
    try:
        row = await _LOOKUP.fetchrow(on, **lookup_params(p))
    except Exception:  # the refusal stands; the client may retry
        return None
    return stored(p, row)


def _replay(
    p: Pending, fingerprint: str, status: int | None, body: bytes | None, headers: dict[str, Any] | None
) -> Response:
    if fingerprint != p.fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was used for a different request; use a new key.",
            code="idempotency_key_reused",
            errors=[field_error("Idempotency-Key", "already used with another method, path or body")],
        )
    if status is None or body is None:
        raise _in_progress()
    replayed = dict(headers or {})
    replayed["Idempotent-Replayed"] = "true"
    return Response(body, status_code=status, headers=replayed)


def _in_progress() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        code="idempotency_in_progress",
        headers={"Retry-After": "1"},
    )


async def purge(session: AsyncSession, older_than: dt.timedelta = RETENTION) -> int:
    """Delete keys older than ``older_than`` (never less than the 30-day retention)."""
    cutoff = clock.now() - max(older_than, RETENTION)
    result = await session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
