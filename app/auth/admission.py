"""Who may call: the 401 / 403 rules, shared by the request dependencies (:mod:`app.auth.deps`)
and the reads that authenticate their caller in the same statement (:func:`app.auth.scope.caller_row`)."""

from __future__ import annotations

from typing import Any

from app.auth.roles import Role
from app.auth.scope import Principal, principal_of_caller
from app.errors import Forbidden, Unauthorized


def invalid_token() -> Unauthorized:
    return Unauthorized("The token is invalid or has expired.", code="invalid_token")


def deactivated() -> Unauthorized:
    return Unauthorized("This account has been deactivated.", code="account_deactivated")


def admit_caller(row: Any, roles: frozenset[Role]) -> Principal:
    """The principal from a statement that read :func:`app.auth.scope.caller_row` (columns prefixed
    ``caller_``; ``row`` None or ``caller_id`` NULL: no such user), with the same 401 / 403 as
    :func:`current_principal` and :func:`require_roles`."""
    if row is None or row["caller_id"] is None:
        raise invalid_token()
    if not row["caller_is_active"]:
        raise deactivated()
    return admit(principal_of_caller(row), roles)


def admit(principal: Principal, allowed: frozenset[Role]) -> Principal:
    """403 ``role_not_allowed`` unless ``principal``'s role is in ``allowed``."""
    if principal.role not in allowed:
        raise Forbidden(
            f"Role '{principal.role}' may not do this.",
            code="role_not_allowed",
            allowed_roles=sorted(r.value for r in allowed),
        )
    return principal
