"""The one scoping helper: every query that returns residents' data goes through here.

A staff member sees their home area's subtree and nothing else; an API key sees its own area's
subtree; a ``department`` user sees only what is assigned to its unit. Objects outside a caller's
scope are reported as 404 by the callers of these helpers, never 403, so their existence is not
revealed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.auth.roles import ROLES_SEEING_PERSONAL_DATA, Role
from app.grids.models import Area


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff user (bearer token) or an integration (API key)."""

    user_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    area_id: uuid.UUID
    area_path: str
    unit_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def idempotency_owner(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"

    @property
    def may_see_personal_data(self) -> bool:
        return self.role in ROLES_SEEING_PERSONAL_DATA


def subtree_area_ids(path: str) -> sa.Select[tuple[uuid.UUID]]:
    """``SELECT id FROM areas WHERE path <@ :path`` — the ids of an area and all its descendants."""
    return sa.select(Area.id).where(Area.path.op("<@")(sa.cast(path, Area.path.type)))


def in_subtree(area_id_column: sa.ColumnElement[Any], path: str) -> sa.ColumnElement[bool]:
    return area_id_column.in_(subtree_area_ids(path))


def scope_filter(
    principal: Principal,
    *,
    area_column: sa.ColumnElement[Any],
    unit_column: sa.ColumnElement[Any] | None = None,
) -> sa.ColumnElement[bool]:
    """The WHERE clause limiting rows to what ``principal`` may see.

    ``area_column`` is the row's area id; ``unit_column`` the unit a row is assigned to (rows
    without one are invisible to department users).
    """
    if principal.role is Role.DEPARTMENT:
        if unit_column is None or principal.unit_id is None:
            return sa.false()
        return sa.and_(unit_column == principal.unit_id, in_subtree(area_column, principal.area_path))
    return in_subtree(area_column, principal.area_path)


def scoped(
    stmt: sa.Select[Any],
    principal: Principal,
    *,
    area_column: sa.ColumnElement[Any],
    unit_column: sa.ColumnElement[Any] | None = None,
) -> sa.Select[Any]:
    return stmt.where(scope_filter(principal, area_column=area_column, unit_column=unit_column))


def path_within(path: str, ancestor_path: str) -> bool:
    """Pure check of ltree ancestry on the Python side (``a.b.c`` is within ``a.b``)."""
    return path == ancestor_path or path.startswith(ancestor_path + ".")
