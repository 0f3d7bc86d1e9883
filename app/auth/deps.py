"""Request dependencies: who is calling and what their role lets them reach."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository
from app.auth.roles import Role
from app.auth.security import api_key_matches, decode_token, split_api_key
from app.config import Settings
from app.db import DriverStatement, ReadPool, SessionDep
from app.errors import Unauthorized
from app.kit.coalesce import Coalesced, coalesced
from app.scope import Principal, admit, admit_caller, caller_row, invalid_token

bearer_scheme = HTTPBearer(auto_error=False, description="JWT from POST /api/v1/auth/token, or an API key")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="integration API key")


async def _principal_from_api_key(session: SessionDep, plaintext: str) -> Principal:
    prefix = split_api_key(plaintext)
    found = await repository.api_key_with_owner(session, prefix) if prefix else None
    if found is None:
        raise Unauthorized("Unknown API key.", code="invalid_api_key")
    key, owner, area_path = found
    if not api_key_matches(plaintext, key.key_hash):
        raise Unauthorized("Unknown API key.", code="invalid_api_key")
    if key.revoked_at is not None or not owner.is_active:
        raise Unauthorized("This API key has been revoked.", code="api_key_revoked")
    return Principal.of(owner, key.area_id, area_path, api_key_id=key.id)


async def principal_for_api_key(session: SessionDep, plaintext: str) -> Principal:
    """The principal of an API key given outside the headers (Open311's ``api_key`` form field);
    401 :class:`Unauthorized` when unknown or revoked."""
    return await _principal_from_api_key(session, plaintext)


@dataclass(frozen=True)
class Credentials:
    """What the caller presented, checked without touching the database: a verified bearer
    token's user id, or an API key (looked up later). See :func:`credentials`."""

    user_id: uuid.UUID | None = None
    api_key: str | None = None


def credentials_of(settings: Settings, bearer: HTTPAuthorizationCredentials | None, api_key: str | None) -> Credentials:
    """What a bearer token or an API key stands for (401 when neither, or an invalid token)."""
    token = bearer.credentials if bearer else None
    if api_key or (token and split_api_key(token)):
        return Credentials(api_key=api_key or token)
    if token:
        user_id = decode_token(token, secret=settings.require_jwt_secret(), issuer=settings.jwt_issuer)
        if user_id is None:
            raise invalid_token()
        return Credentials(user_id=user_id)
    raise Unauthorized("Send 'Authorization: Bearer <token>' or an API key.", code="not_authenticated")


async def credentials(request: Request) -> None:
    """The private routers' safety net: 401 when nothing or an invalid token was sent (see
    :func:`credentials_of`). It reads the headers itself rather than through FastAPI's security
    dependencies, whose subtree FastAPI would solve again on every request: the OpenAPI document
    declares both schemes on every private operation all the same (:func:`document_credentials`).
    Endpoints read the result with :data:`CredentialsDep`; those on hot read paths authenticate the
    account in the same statement as their read (see :func:`app.scope.caller_row` and
    :func:`app.scope.admit_caller`)."""
    await read_credentials(request)


def document_credentials(app: FastAPI, routers: list[APIRouter]) -> None:
    """Declare the bearer and API key schemes on every operation of ``routers`` (the private ones),
    as FastAPI does for routes that take its security dependencies."""
    generate = app.openapi
    schemes = {
        scheme.scheme_name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for scheme in (bearer_scheme, api_key_scheme)
    }
    private = {
        (route.path, method.lower())
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }

    def openapi() -> dict[str, Any]:
        schema = generate()
        schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(schemes)
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if (path, method) in private:
                    operation["security"] = [{name: []} for name in schemes]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def read_credentials(request: Request) -> Credentials:
    """:func:`credentials` as a dependency without sub-dependencies: FastAPI solves a cached
    dependency's whole subtree again wherever it is used, and nearly every route uses this one
    two or three times. Taken from the safety net's result when it ran, else worked out here."""
    found: Credentials | None = getattr(request.state, "credentials", None)
    if found is None:
        found = credentials_of(request.app.state.settings, await bearer_scheme(request), await api_key_scheme(request))
        request.state.credentials = found
    return found


CredentialsDep = Annotated[Credentials, Depends(read_credentials)]
ALL_ROLES = frozenset(Role)


@cache
def _callers_statement(several: bool) -> DriverStatement:
    """Bearer tokens' users as :func:`app.scope.caller_row` reads them (columns ``caller_*``): one
    (``user_id``), or ``several`` (``user_ids``). A lone caller has a statement of its own, whose
    one plan PostgreSQL keeps: for an array it plans anew at every execution (its estimate of a
    custom plan for a one-element array always beats its generic plan's), which cost twice the
    lookup itself."""
    uuid_type = UUID(as_uuid=True)
    wanted = (
        sa.any_(sa.bindparam("user_ids", type_=ARRAY(uuid_type)))
        if several
        else sa.bindparam("user_id", type_=uuid_type)
    )
    caller = caller_row(wanted)
    return DriverStatement(sa.select(*(c.label(f"caller_{c.name}") for c in caller.c)))


async def _read_callers(pool: ReadPool, user_ids: list[uuid.UUID]) -> list[Any]:
    """The row of each of ``user_ids`` (None for no such user), in one statement."""
    distinct = sorted(set(user_ids))
    if len(distinct) == 1:
        rows = await _callers_statement(several=False).fetch(pool, user_id=distinct[0])
    else:
        rows = await _callers_statement(several=True).fetch(pool, user_ids=distinct)
    found = {row["caller_id"]: row for row in rows}
    return [found.get(user_id) for user_id in user_ids]


async def current_principal(request: Request, session: SessionDep, creds: CredentialsDep) -> Principal:
    """Authenticate the caller (401 when missing or invalid). Deactivation takes effect at once."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    if creds.api_key is not None:
        principal = await _principal_from_api_key(session, creds.api_key)
    else:
        assert creds.user_id is not None
        # One statement on the hot-read pool, outside the request's transaction (a read on its
        # own, as it was at READ COMMITTED): no ORM and no session work for the most common read;
        # the callers of a process's concurrent requests are read together (app.kit.coalesce).
        pool: ReadPool = request.app.state.read_pool
        callers: Coalesced[uuid.UUID, Any] = coalesced(pool, "callers", _read_callers)
        row = await callers.run(creds.user_id)
        principal = admit_caller(row, ALL_ROLES)
    request.state.principal = principal
    return principal


async def principal_for(
    request: Request, session: AsyncSession, creds: Credentials, roles: frozenset[Role]
) -> Principal:
    """The principal of ``creds`` admitted for ``roles``, the way ``require_roles`` does it (for
    endpoints that take :data:`CredentialsDep` and authenticate API keys the ordinary way)."""
    return admit(await current_principal(request, session, creds), roles)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def caller_key(principal: CurrentPrincipal) -> str:
    """The caller's key for per-caller limits and idempotency: the API key, else the user."""
    return principal.idempotency_owner


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only ``roles`` (403 ``role_not_allowed`` otherwise)."""
    allowed = frozenset(roles)

    async def _check(principal: CurrentPrincipal) -> Principal:
        return admit(principal, allowed)

    _check.__name__ = "require_" + "_".join(sorted(r.value for r in allowed))
    return _check


AdminOnly = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
