"""The scoped repository: reads of one model that only ever return what the caller may see.

Every domain whose rows belong to an area (buildings, residents, diary entries, disputes, users,
webhook subscriptions …) reads them through one of these, so the scope rule is written once::

    buildings = ScopedRepository(Building)                      # scoped on Building.area_id
    users = ScopedRepository(User, area=User.home_area_id)
    issues = ScopedRepository(Issue, unit=Issue.assignee_unit_id)   # department users: their unit's

    building = await buildings.get(session, principal, building_id)          # None: 404 for the caller
    building = await buildings.get_for_update(session, principal, building_id)   # locked (If-Match)
    building = await buildings.get_or_raise(session, principal, building_id, NotFound(...))
    building = await buildings.one(session, principal, building_id)   # 404 building_not_found
    building = await buildings.for_change(session, principal, building_id, if_match)   # locked, 412 if stale
    rows = await buildings.list_in_scope(session, principal, Building.name.contains(q), after=..., limit=50)
    where = households.narrowed(filters, "building_id")   # area_path, then building_id == …

``list_in_scope`` pages by keyset (:func:`app.kit.pagination.keyset`) on ``order`` (default
``created_at, id``, newest first) and returns ``limit + 1`` rows for :meth:`Keyset.page`. An id named
in a request body goes through :meth:`ScopedRepository.resolve` (422 ``unknown_<thing>``).
The domain's own queries (joins, aggregates) start from :meth:`ScopedRepository.select`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import ColumnExpr
from app.errors import AppError, NotFound
from app.kit.etag import write_if_match
from app.kit.ids import id_taken
from app.kit.pagination import keyset
from app.scope import (
    Principal,
    ScopeShape,
    in_subtree,
    resolve_in_scope,
    scope_filter,
    scope_params,
    scope_shape,
    scope_template,
    unknown_reference,
)

ModelT = TypeVar("ModelT")
KeyT = TypeVar("KeyT", bound=Hashable)
ScopeRule = Callable[[Principal], sa.ColumnElement[bool]]


class ScopedRepository(Generic[ModelT]):
    """Scoped reads of ``model``: rows whose ``area`` column lies in the caller's subtree (and, for a
    department user, whose ``unit`` column is the caller's unit; without a ``unit`` column a
    department user sees none). ``scope`` replaces the rule altogether (areas: their own path).

    ``thing`` names one row in errors (``building``: 404 ``building_not_found`` "No such building in
    your area.", 422 ``unknown_building``); ``label`` is how a message says it (default: ``thing``
    with spaces) and ``within`` where the caller looked (``your area``, ``your jurisdiction``)."""

    def __init__(
        self,
        model: type[ModelT],
        *,
        area: ColumnExpr | None = None,
        unit: ColumnExpr | None = None,
        order: Sequence[ColumnExpr] | None = None,
        scope: ScopeRule | None = None,
        thing: str = "object",
        label: str | None = None,
        within: str = "your area",
    ) -> None:
        self.model = model
        self.thing = thing
        self._missing = f"No such {label or thing.replace('_', ' ')} in {within}."
        self.area: ColumnExpr = area if area is not None else model.area_id  # type: ignore[attr-defined]
        self.unit = unit
        self.order: Sequence[ColumnExpr] = order or (model.created_at, model.id)  # type: ignore[attr-defined]
        self._scope = scope
        self._id: ColumnExpr = model.id  # type: ignore[attr-defined]
        self._by_id: dict[tuple[ScopeShape, bool], sa.Select[Any]] = {}

    def scope(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The WHERE clause of what ``principal`` may see of this model."""
        if self._scope is not None:
            return self._scope(principal)
        return scope_filter(principal, area_column=self.area, unit_column=self.unit)

    def shape(self, principal: Principal) -> ScopeShape:
        """Which form of the rule applies to ``principal`` (see :func:`app.scope.scope_shape`)."""
        if self._scope is not None:
            raise TypeError("a repository with a rule of its own has no template")
        return scope_shape(principal, has_unit_column=self.unit is not None)

    def template(self, shape: ScopeShape) -> sa.ColumnElement[bool]:
        """:meth:`scope` for every caller of ``shape``, their area and unit left as the parameters
        :func:`app.scope.scope_params` gives: for a statement built once per shape."""
        return scope_template(shape, area_column=self.area, unit_column=self.unit)

    def select(self, principal: Principal) -> sa.Select[Any]:
        """``SELECT model WHERE <scope>``: the start of every read of this model."""
        return sa.select(self.model).where(self.scope(principal))

    async def _read_one(
        self, session: AsyncSession, principal: Principal, object_id: Any, *, for_update: bool
    ) -> ModelT | None:
        """The row ``object_id`` if the caller may see it (locked when ``for_update``, and then read
        afresh even if the session already holds it).

        Under the usual rule the statement is built once per kind of caller (:func:`scope_template`)
        and the caller's area and unit are its parameters, so SQLAlchemy finds it compiled: no
        statement to build and no cache key to compute on every read."""
        params: dict[str, Any] = {}
        if self._scope is not None:  # a rule of its own: built for this caller
            stmt = self._locked(self.select(principal).where(self._id == object_id), for_update)
        else:
            shape = self.shape(principal)
            found = self._by_id.get((shape, for_update))
            stmt = found if found is not None else self._statement_by_id(shape, for_update)
            params = {"scoped_id": object_id, **scope_params(principal, shape)}
        return (await session.execute(stmt, params)).scalar_one_or_none()

    def _locked(self, stmt: sa.Select[Any], for_update: bool) -> sa.Select[Any]:
        return stmt.with_for_update(of=self.model).execution_options(populate_existing=True) if for_update else stmt

    def _statement_by_id(self, shape: ScopeShape, for_update: bool) -> sa.Select[Any]:
        stmt = sa.select(self.model).where(self._id == sa.bindparam("scoped_id"), self.template(shape))
        stmt = self._locked(stmt, for_update)
        self._by_id[(shape, for_update)] = stmt
        return stmt

    async def get(self, session: AsyncSession, principal: Principal, object_id: uuid.UUID) -> ModelT | None:
        """The row, or None when it does not exist or lies outside the caller's scope (a 404)."""
        return await self._read_one(session, principal, object_id, for_update=False)

    async def get_for_update(self, session: AsyncSession, principal: Principal, object_id: uuid.UUID) -> ModelT | None:
        """:meth:`get`, locking the row for a read-check-write (If-Match) so concurrent writers
        queue; the object is read afresh even if the session already holds it."""
        return await self._read_one(session, principal, object_id, for_update=True)

    async def get_or_raise(
        self,
        session: AsyncSession,
        principal: Principal,
        object_id: uuid.UUID,
        missing: AppError,
        *,
        for_update: bool = False,
    ) -> ModelT:
        """:meth:`get` (or :meth:`get_for_update`), raising ``missing`` (a 404) when there is none."""
        found = await (self.get_for_update if for_update else self.get)(session, principal, object_id)
        if found is None:
            raise missing
        return found

    async def for_change(
        self,
        session: AsyncSession,
        principal: Principal,
        object_id: uuid.UUID,
        if_match: str | None,
        *,
        required: bool = False,
    ) -> ModelT:
        """The row locked for a change (:meth:`one`, ``for_update``), its ``If-Match`` checked when
        sent (:func:`app.kit.etag.write_if_match`: 412 when stale; 428 when ``required`` and absent)."""
        row = await self.one(session, principal, object_id, for_update=True)
        write_if_match(row, if_match, required=required)  # type: ignore[arg-type]
        return row

    def missing(self) -> NotFound:
        """The 404 of an id in a path that names no row the caller may see."""
        return NotFound(self._missing, code=f"{self.thing}_not_found")

    async def one(
        self,
        session: AsyncSession,
        principal: Principal,
        object_id: Any,
        *,
        field: str | None = None,
        for_update: bool = False,
    ) -> ModelT:
        """The row the caller names, or else: for an id in a path, 404 ``<thing>_not_found``
        (:meth:`missing`); for an id in a request body's ``field``, 422 ``unknown_<thing>``
        (:meth:`resolve`). ``for_update`` locks it (:meth:`get_for_update`)."""
        if field:
            return await self.resolve(
                session, principal, object_id, field=field, thing=self.thing, for_update=for_update
            )
        return await self.get_or_raise(session, principal, object_id, self.missing(), for_update=for_update)

    def narrowed(self, filters: Mapping[str, Any], *columns: str) -> list[sa.ColumnElement[bool]]:
        """The WHERE clauses of a list's filters: ``area_path`` (see :func:`app.grids.service.area_path`)
        keeps the rows of that subtree, and each of ``columns`` given a value keeps the rows equal to it."""
        where = [in_subtree(self.area, filters["area_path"])] if filters.get("area_path") else []
        where += [
            getattr(self.model, column) == filters[column] for column in columns if filters.get(column) is not None
        ]
        return where

    async def by_ids(self, session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]) -> Sequence[ModelT]:
        """The rows among ``ids`` that the caller may see (any order)."""
        if not ids:
            return []
        return (await session.execute(self.select(principal).where(self._id.in_(ids)))).scalars().all()

    async def list_in_scope(
        self,
        session: AsyncSession,
        principal: Principal,
        *where: sa.ColumnElement[bool],
        after: Sequence[Any] | None,
        limit: int,
    ) -> Sequence[ModelT]:
        """A page of the rows the caller may see, narrowed by ``where``, after the cursor ``after``
        in ``order`` (newest first): ``limit + 1`` rows, for :meth:`app.kit.pagination.Keyset.page`."""
        stmt = keyset(self.select(principal).where(*where), self.order, after=after, limit=limit)
        return (await session.execute(stmt)).scalars().all()

    async def exists(self, session: AsyncSession, object_id: uuid.UUID) -> bool:
        """Whether the id is taken by anyone, in scope or not (a client-chosen id must be new)."""
        return bool(await session.scalar(sa.select(sa.exists().where(self._id == object_id))))

    async def check_new(self, session: AsyncSession, object_id: uuid.UUID | None) -> None:
        """409 ``id_taken`` (:func:`app.kit.ids.id_taken`) when the id a client chose is taken (:meth:`exists`)."""
        if object_id is not None and await self.exists(session, object_id):
            raise id_taken()

    async def resolve(
        self,
        session: AsyncSession,
        principal: Principal,
        object_id: Any,
        *,
        field: str,
        thing: str,
        for_update: bool = False,
    ) -> ModelT:
        """The row named in a request body's ``field``, or 422 ``unknown_<thing>`` (see
        :func:`app.scope.resolve_in_scope`)."""
        if self._scope is None:
            found = await self._read_one(session, principal, object_id, for_update=for_update)
            if found is None:
                raise unknown_reference(thing, field)
            return found
        scope = self._scope(principal)
        return await resolve_in_scope(
            session,
            principal,
            self.model,
            object_id,
            field=field,
            thing=thing,
            area_column=self.area,
            unit_column=self.unit,
            scope=scope,
            for_update=for_update,
        )


async def saved(session: AsyncSession, row: ModelT, *, new: bool = False) -> ModelT:
    """``row`` written (added first when ``new``) and read back with what the database set: its
    version, timestamps and defaults."""
    if new:
        session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def children(
    session: AsyncSession, model: type[ModelT], parent: ColumnExpr, parent_id: Any, order: Sequence[ColumnExpr]
) -> Sequence[ModelT]:
    """The rows of ``model`` whose ``parent`` column is ``parent_id``, in ``order`` (a dispute's
    sessions, an activity's photos); :func:`grouped` reads those of several parents."""
    stmt = sa.select(model).where(parent == parent_id).order_by(*order)
    return (await session.execute(stmt)).scalars().all()


async def grouped(
    session: AsyncSession, stmt: sa.Select[Any], key: Callable[[ModelT], KeyT]
) -> defaultdict[KeyT, list[ModelT]]:
    """The rows of ``stmt`` (in its order) by ``key``: the children of several parents read in one
    query, e.g. ``grouped(session, select(Attempt).where(Attempt.delivery_id.in_(ids)).order_by(...),
    lambda a: a.delivery_id)``. A parent without children maps to an empty list."""
    out: defaultdict[KeyT, list[ModelT]] = defaultdict(list)
    for row in (await session.execute(stmt)).scalars():
        out[key(row)].append(row)
    return out


async def insert_new(
    session: AsyncSession, model: type[ModelT], values: dict[str, Any], *, unique: Sequence[str]
) -> ModelT | None:
    """Insert a row of ``model`` unless one with the same ``unique`` columns exists (``ON CONFLICT
    DO NOTHING``): the new row, or None when it existed. A concurrent insert of the same key waits
    until the first one commits or rolls back — the way to claim a message delivered twice."""
    table: Any = model
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=list(unique)).returning(table.id)
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    return None if new_id is None else await session.get(model, new_id)
