"""The one scoping helper: every query that returns residents' data goes through here.

Who is calling (:class:`Principal`), what they may see (:func:`scope_filter`, :func:`resolve_in_scope`)
and whether they may call at all (:func:`admit`): the rules every domain applies, in a module that
belongs to none of them (it needs only the roles and the area and user tables).

A staff member sees their home area's subtree and nothing else; an API key sees its own area's
subtree; a ``department`` user sees only what is assigned to its unit. Objects outside a caller's
scope are reported as 404 by the callers of these helpers, never 403, so their existence is not
revealed. An id in a request body is resolved the same way (:func:`resolve_in_scope`): unknown or
out of scope is 422 ``unknown_<thing>`` naming the body field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.auth.roles import ROLES_SEEING_PERSONAL_DATA, Role
from app.db import ColumnExpr
from app.errors import Forbidden, Unauthorized, ValidationFailed, field_error
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

    @classmethod
    def of(cls, user: User, area_id: uuid.UUID, area_path: str, *, api_key_id: uuid.UUID | None = None) -> Principal:
        """Staff account ``user`` acting in area ``area_id`` (``area_path``): its home area, or the
        area of its API key ``api_key_id``."""
        return cls(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=Role(user.role),
            area_id=area_id,
            area_path=area_path,
            unit_id=user.unit_id,
            api_key_id=api_key_id,
        )

    @property
    def idempotency_owner(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"

    @property
    def may_see_personal_data(self) -> bool:
        return self.role in ROLES_SEEING_PERSONAL_DATA


def subtree_area_ids(path: str | sa.BindParameter[str]) -> sa.Select[uuid.UUID]:
    """``SELECT id FROM areas WHERE path <@ :path`` — the ids of an area and all its descendants."""
    return sa.select(Area.id).where(Area.path.op("<@")(sa.cast(path, Area.path.type)))


def in_subtree(area_id_column: ColumnExpr, path: str | sa.BindParameter[str]) -> sa.ColumnElement[bool]:
    return area_id_column.in_(subtree_area_ids(path))


ScopeShape = Literal["subtree", "unit", "nothing"]
"""Which rule applies to a caller: their area's subtree; their unit's rows within it (a
department user, on rows assigned to units); or nothing at all (a department user otherwise)."""


def scope_shape(principal: Principal, *, has_unit_column: bool) -> ScopeShape:
    if principal.role is Role.DEPARTMENT:
        return "unit" if has_unit_column and principal.unit_id is not None else "nothing"
    return "subtree"


def _scope_rule(
    shape: ScopeShape,
    area_column: ColumnExpr,
    unit_column: ColumnExpr | None,
    path: str | sa.BindParameter[str],
    unit: uuid.UUID | sa.BindParameter[uuid.UUID] | None,
) -> sa.ColumnElement[bool]:
    if shape == "nothing":
        return sa.false()
    if shape == "unit":
        assert unit_column is not None
        return sa.and_(unit_column == unit, in_subtree(area_column, path))
    return in_subtree(area_column, path)


def scope_filter(
    principal: Principal,
    *,
    area_column: ColumnExpr,
    unit_column: ColumnExpr | None = None,
) -> sa.ColumnElement[bool]:
    """The WHERE clause limiting rows to what ``principal`` may see.

    ``area_column`` is the row's area id; ``unit_column`` the unit a row is assigned to (rows
    without one are invisible to department users).
    """
    shape = scope_shape(principal, has_unit_column=unit_column is not None)
    return _scope_rule(shape, area_column, unit_column, principal.area_path, principal.unit_id)


SCOPE_PATH = sa.bindparam("scope_path", type_=sa.String)
SCOPE_UNIT = sa.bindparam("scope_unit", type_=sa.Uuid)


def scope_template(
    shape: ScopeShape, *, area_column: ColumnExpr, unit_column: ColumnExpr | None = None
) -> sa.ColumnElement[bool]:
    """:func:`scope_filter` of every caller of ``shape`` at once: the same rule with the caller's
    area path and unit as the bound parameters ``scope_path`` and ``scope_unit``
    (:func:`scope_params`), for a statement built once and cached (compiled once) by SQLAlchemy."""
    return _scope_rule(shape, area_column, unit_column, SCOPE_PATH, SCOPE_UNIT)


def scope_params(principal: Principal, shape: ScopeShape) -> dict[str, Any]:
    """The values of :func:`scope_template`'s parameters for ``principal``."""
    if shape == "nothing":
        return {}
    if shape == "unit":
        return {"scope_path": principal.area_path, "scope_unit": principal.unit_id}
    return {"scope_path": principal.area_path}


def scoped(
    stmt: sa.Select[Any],
    principal: Principal,
    *,
    area_column: ColumnExpr,
    unit_column: ColumnExpr | None = None,
) -> sa.Select[Any]:
    return stmt.where(scope_filter(principal, area_column=area_column, unit_column=unit_column))


def _ltree(path: str | sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.cast(path, Area.path.type) if isinstance(path, str) else path


def covering(area_column: ColumnExpr, path: str | sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """Rows whose area is the area at ``path`` or one of its ancestors: they cover that area.

    ``path`` is an ltree path, or an SQL expression giving one (e.g. :func:`area_path_of`)."""
    a = aliased(Area, name="covering_area")
    return area_column.in_(sa.select(a.id).where(a.path.op("@>")(_ltree(path))))


def serving(area_column: ColumnExpr, path: str | sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """Rows registered on the branch of the area at ``path``: at it, at an ancestor (a district's
    department serves all of its streets) or inside it (a community's property company serves a
    street-level issue of that community). Units and staff that work for an area are found so;
    those of a sibling community or another district are not."""
    a = aliased(Area, name="branch_area")
    p = _ltree(path)
    return area_column.in_(sa.select(a.id).where(sa.or_(a.path.op("@>")(p), a.path.op("<@")(p))))


def area_path_of(area_id: Any) -> sa.ScalarSelect[Any]:
    """The ltree path of area ``area_id`` as a scalar subquery (for :func:`covering`, :func:`serving`)."""
    a = aliased(Area, name="of_area")
    return sa.select(a.path).where(a.id == area_id).scalar_subquery()


def area_name_of(area_id: Any) -> sa.ScalarSelect[Any]:
    """The name of area ``area_id`` as a scalar subquery (NULL when there is no such area)."""
    a = aliased(Area, name="named_area")
    return sa.select(a.name).where(a.id == area_id).scalar_subquery()


# --- ids in a request body --------------------------------------------------------------------
#
# A body that names another object (an assignee, a merge target, a building, a household, an area,
# an API key …) resolves it here, under the same rules as an id in a path: what the caller may not
# see does not exist for them. Unknown or out of scope is 422 ``unknown_<thing>`` with the body
# field in ``errors`` (not 404: the URL itself was found).


def unknown_reference(thing: str, field: str, *, message: str = "unknown or outside your area") -> ValidationFailed:
    """422 ``unknown_<thing>`` naming the body ``field``."""
    label = thing.replace("_", " ")
    return ValidationFailed(
        f"No such {label} in your jurisdiction.",
        code=f"unknown_{thing}",
        errors=[field_error(field, message)],
    )


async def resolve_in_scope(
    session: AsyncSession,
    principal: Principal,
    model: Any,
    object_id: Any,
    *,
    field: str,
    thing: str,
    area_column: ColumnExpr | None = None,
    unit_column: ColumnExpr | None = None,
    scope: sa.ColumnElement[bool] | None = None,
    columns: tuple[sa.ColumnElement[Any], ...] = (),
    for_update: bool = False,
    message: str = "unknown or outside your area",
) -> Any:
    """The row ``object_id`` of ``model`` named in a request body's ``field``, in one query, or 422
    ``unknown_<thing>``.

    The row must pass :func:`scope_filter` for ``principal`` on ``area_column`` (default
    ``model.area_id``) and ``unit_column`` — the rule for ids in a path — unless ``scope`` gives
    the rule instead (an area's subtree for areas; :func:`serving` for whom an issue may be
    dispatched to). ``columns`` are selected with the row; then the whole row (``row[0]`` the
    object) is returned, else the object."""
    if scope is None:
        column = area_column if area_column is not None else model.area_id
        scope = scope_filter(principal, area_column=column, unit_column=unit_column)
    stmt = sa.select(model, *columns).where(model.id == object_id, scope)
    if for_update:
        stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise unknown_reference(thing, field, message=message)
    return row if columns else row[0]


async def area_in_scope(
    session: AsyncSession, principal: Principal, area_id: Any, *, field: str, for_update: bool = False
) -> Area:
    """The area ``area_id`` named in a body's ``field``: in the caller's subtree, or 422 ``unknown_area``."""
    within = Area.path.op("<@")(sa.cast(principal.area_path, Area.path.type))
    return await resolve_in_scope(
        session, principal, Area, area_id, field=field, thing="area", scope=within, for_update=for_update
    )


def path_within(path: str, ancestor_path: str) -> bool:
    """Pure check of ltree ancestry on the Python side (``a.b.c`` is within ``a.b``)."""
    return path == ancestor_path or path.startswith(ancestor_path + ".")


# --- the same rules inside one statement ----------------------------------------------------------
#
# A hot read (an issue by id, a dashboard's ETag) can authenticate its caller and read the object in
# ONE statement: the caller's row (``caller_row``) is joined to the object under
# ``caller_scope_filter`` — the rules of ``scope_filter``, with the principal's fields read from the
# caller's columns instead of bound from Python. The caller's ``is_active`` comes back with the
# object, so deactivation still takes effect on the very next request.


def caller_row(user_id: sa.ColumnElement[Any]) -> sa.Subquery:
    """The principal's fields of the user ``user_id`` (a bearer token's subject), as a one-row
    subquery named ``caller``: ``id, username, display_name, role, is_active, area_id, area_path,
    unit_id``."""
    home = aliased(Area, name="caller_home")
    return (
        sa.select(
            User.id,
            User.username,
            User.display_name,
            User.role,
            User.is_active,
            User.home_area_id.label("area_id"),
            sa.cast(home.path, sa.Text).label("area_path"),
            User.unit_id,
        )
        .join(home, home.id == User.home_area_id)
        .where(User.id == user_id)
        .subquery("caller")
    )


def caller_scope_filter(
    caller: sa.Subquery,
    *,
    area_column: ColumnExpr,
    unit_column: ColumnExpr | None = None,
) -> sa.ColumnElement[bool]:
    """``scope_filter`` for the principal in ``caller`` (see :func:`caller_row`), in SQL."""
    row_area = aliased(Area, name="row_area")
    in_caller_subtree = sa.exists().where(
        row_area.id == area_column, row_area.path.op("<@")(sa.cast(caller.c.area_path, row_area.path.type))
    )
    is_department = caller.c.role == Role.DEPARTMENT.value
    if unit_column is None:
        return sa.and_(sa.not_(is_department), in_caller_subtree)
    return sa.and_(
        in_caller_subtree,
        sa.or_(sa.not_(is_department), sa.and_(caller.c.unit_id.is_not(None), unit_column == caller.c.unit_id)),
    )


def principal_of_caller(row: Any) -> Principal:
    """The :class:`Principal` from a row carrying :func:`caller_row`'s columns prefixed ``caller_``."""
    return Principal(
        user_id=row["caller_id"],
        username=row["caller_username"],
        display_name=row["caller_display_name"],
        role=Role(row["caller_role"]),
        area_id=row["caller_area_id"],
        area_path=row["caller_area_path"],
        unit_id=row["caller_unit_id"],
    )


# --- who may call ---------------------------------------------------------------------------------
#
# The 401 / 403 rules, shared by the request dependencies (:mod:`app.auth.deps`) and the reads that
# authenticate their caller in the same statement (:func:`caller_row`).


def invalid_token() -> Unauthorized:
    return Unauthorized("The token is invalid or has expired.", code="invalid_token")


def deactivated() -> Unauthorized:
    return Unauthorized("This account has been deactivated.", code="account_deactivated")


def admit_caller(row: Any, roles: frozenset[Role]) -> Principal:
    """The principal from a statement that read :func:`caller_row` (columns prefixed
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
