"""Writing to and reading from the change feed (变更流).

This module is the one writer of ``change_log``: a service adds a change in the same
transaction as the write it describes, so a rolled-back write leaves no change behind. One row
(:func:`change_row`) is written three ways: :func:`add_change` puts it in the session (flushed with
the write, no round trip of its own), :func:`record_change` / :func:`record_changes` insert at once,
and :func:`insert_cte` is the same insert as a common table expression, for a statement that
writes an entity and its change together (a new issue). Each change carries the writer's transaction id
(``xid8``); a reader only passes changes whose transaction is older than every transaction still
running (``txid < pg_snapshot_xmin(pg_current_snapshot())``). Ordered by ``(txid, seq)``, a cursor
therefore never moves past a change that commits later: that change has a larger ``txid`` than
everything already returned.

Domains plug into the feed with :func:`register_feed`: a public name (``diary``), the stored
entity type, the roles that may pull it, the table to compute tombstones from, a loader of
masked snapshots and, for objects registered above the caller's area (a community's commitments,
read from its grids), the rule that says which areas a caller's path reaches (default: its subtree).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.config import Settings
from app.db import ColumnExpr
from app.kit.arrays import array_rows
from app.scope import Principal, in_subtree, scope_filter
from app.sync.models import Change, Xid8


class Op(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


SnapshotLoader = Callable[
    [AsyncSession, Principal, Sequence[uuid.UUID], Settings], Awaitable[dict[uuid.UUID, dict[str, Any]]]
]
Reach = Callable[[ColumnExpr, str], sa.ColumnElement[bool]]
"""The areas a caller at an area path sees entities of: ``(area column, path) -> condition``."""


@dataclass(frozen=True)
class Feed:
    name: str  # as clients ask for it: ``types=diary,disputes``
    entity_type: str  # as stored in change_log
    roles: frozenset[Role]
    id_column: ColumnExpr
    area_column: ColumnExpr
    load: SnapshotLoader
    # None: the caller's subtree (the scope helper's rule); e.g. app.scope.serving for objects kept
    # at a community that its grid workers read too.
    reach: Reach | None = None

    def visible(self, area_column: ColumnExpr, path: str) -> sa.ColumnElement[bool]:
        return (self.reach or in_subtree)(area_column, path)

    @classmethod
    def of(cls, model: Any, name: str, entity_type: str, roles: frozenset[Role], load: SnapshotLoader) -> Feed:
        """The feed of ``model``'s rows by their ``id`` and ``area_id`` columns::

        register_feed(Feed.of(DiaryEntry, "diary", ENTITY, DIARY_READERS, snapshots))
        """
        return cls(name, entity_type, roles, model.id, model.area_id, load)


FEEDS: dict[str, Feed] = {}


def register_feed(feed: Feed) -> None:
    FEEDS[feed.name] = feed


CHANGE_COLUMNS = ("entity_type", "entity_id", "area_id", "op")
"""The columns a writer sets; ``seq``, ``txid`` and ``changed_at`` are the database's."""


def change_row(entity_type: str, entity_id: uuid.UUID, area_id: uuid.UUID, op: Op | str = Op.UPSERT) -> dict[str, Any]:
    """The one definition of a change: an entity of a type, in an area, upserted or deleted."""
    return {"entity_type": entity_type, "entity_id": entity_id, "area_id": area_id, "op": str(op)}


def add_change(
    session: AsyncSession, entity_type: str, entity_id: uuid.UUID, area_id: uuid.UUID, op: Op | str = Op.UPSERT
) -> None:
    """Add a change to the session: written with the session's next flush."""
    session.add(Change(**change_row(entity_type, entity_id, area_id, op)))


async def record_change(
    session: AsyncSession, entity_type: str, entity_id: uuid.UUID, area_id: uuid.UUID, op: Op | str = Op.UPSERT
) -> None:
    await record_changes(session, [(entity_type, entity_id, area_id, op)])


def _inserting() -> sa.Insert:
    """``INSERT INTO change_log … SELECT * FROM unnest(…)``: the changes come as one array per
    column, so one statement, built and compiled once, writes any number of them (a multi-row
    VALUES would be compiled anew for every call)."""
    table = cast(sa.Table, Change.__table__)
    rows = array_rows("changes", {c: table.c[c] for c in CHANGE_COLUMNS})
    return table.insert().from_select(list(CHANGE_COLUMNS), sa.select(*(rows.c[c] for c in CHANGE_COLUMNS)))


_INSERT = _inserting()


async def record_changes(session: AsyncSession, changes: Iterable[tuple[str, uuid.UUID, uuid.UUID, Op | str]]) -> None:
    rows = [change_row(*change) for change in changes]
    if rows:
        await session.execute(_INSERT, {c: [row[c] for row in rows] for c in CHANGE_COLUMNS})


def insert_cte(name: str, prefix: str, *, after: str | None = None) -> str:
    """``name AS (INSERT INTO change_log … RETURNING seq)`` with the bind parameters
    ``:{prefix}{column}`` that :func:`cte_params` gives for a :func:`change_row`; with ``after``
    (another common table expression) once for each row that one returns."""
    columns = ", ".join(CHANGE_COLUMNS)
    values = ", ".join(f":{prefix}{c}" for c in CHANGE_COLUMNS)
    source = f"SELECT {values} FROM {after}" if after else f"VALUES ({values})"
    return f"{name} AS (\n    INSERT INTO change_log ({columns}) {source}\n    RETURNING seq\n)"


def cte_params(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    """Bind parameters of :func:`insert_cte` for ``row`` (a :func:`change_row`)."""
    return {f"{prefix}{c}": row[c] for c in CHANGE_COLUMNS}


async def read_after(
    session: AsyncSession,
    principal: Principal,
    *,
    after: tuple[int, int],
    entity_types: Sequence[str],
    limit: int,
    reach: dict[str, Reach] | None = None,
) -> Sequence[sa.Row[Any]]:
    """Changes after ``after`` = (txid, seq) in the caller's scope, only from finished transactions.

    ``reach`` gives entity types seen by another rule than the caller's subtree (see :class:`Feed`)."""
    txid, seq = after
    reach = {t: rule for t, rule in (reach or {}).items() if t in entity_types}
    plain = [t for t in entity_types if t not in reach]
    seen = [
        sa.and_(Change.entity_type.in_(plain), scope_filter(principal, area_column=Change.area_id)) if plain else None,
        *(
            sa.and_(Change.entity_type == t, rule(Change.area_id, principal.area_path))
            for t, rule in reach.items()
            if principal.role is not Role.DEPARTMENT
        ),
    ]
    clauses = [c for c in seen if c is not None]
    stmt = (
        sa.select(
            Change.seq,
            sa.cast(Change.txid, sa.Text).label("txid"),
            Change.entity_type,
            Change.entity_id,
            Change.area_id,
            Change.op,
            Change.changed_at,
        )
        .where(
            sa.tuple_(Change.txid, Change.seq)
            > sa.tuple_(sa.cast(sa.cast(str(txid), sa.Text), Xid8()), sa.literal(seq)),
            Change.txid < sa.func.pg_snapshot_xmin(sa.func.pg_current_snapshot()),
            sa.or_(*clauses) if len(clauses) > 1 else (clauses[0] if clauses else sa.false()),
        )
        .order_by(Change.txid, Change.seq)
        .limit(limit + 1)
    )
    return (await session.execute(stmt)).all()


async def horizon(session: AsyncSession) -> int:
    """The oldest transaction still running: everything before it is settled."""
    value = await session.scalar(sa.select(sa.cast(sa.func.pg_snapshot_xmin(sa.func.pg_current_snapshot()), sa.Text)))
    return int(value or 0)


async def lost_entities(
    session: AsyncSession,
    feed: Feed,
    *,
    old_path: str,
    new_path: str,
    at: tuple[int, int],
    after_id: uuid.UUID | None,
    limit: int,
) -> Sequence[uuid.UUID]:
    """Ids of ``feed`` entities the holder of a cursor at ``at`` = (txid, seq) issued for ``old_path``
    may hold and that are not visible under ``new_path`` (tombstones), in id order after ``after_id``.

    The holder may hold an entity when its last change up to the cursor was recorded in the old
    area — or, when it has not changed since the cursor, when it lies in the old area now (its
    earlier changes may be past retention). Entities that only came into the old area after the
    cursor was issued were never sent, and are not named.
    """
    txid, seq = at
    position = sa.tuple_(sa.cast(sa.cast(str(txid), sa.Text), Xid8()), sa.literal(seq))
    last_up_to = (
        sa.select(Change.entity_id, Change.area_id)
        .where(Change.entity_type == feed.entity_type, sa.tuple_(Change.txid, Change.seq) <= position)
        .ext(distinct_on(Change.entity_id))
        .order_by(Change.entity_id, Change.txid.desc(), Change.seq.desc())
        .subquery("last_up_to")
    )
    held_then = sa.select(last_up_to.c.entity_id).where(feed.visible(last_up_to.c.area_id, old_path))
    changed_since = sa.select(Change.entity_id).where(
        Change.entity_type == feed.entity_type, sa.tuple_(Change.txid, Change.seq) > position
    )
    stmt = sa.select(feed.id_column).where(
        sa.not_(feed.visible(feed.area_column, new_path)),
        sa.or_(
            feed.id_column.in_(held_then),
            sa.and_(feed.visible(feed.area_column, old_path), feed.id_column.not_in(changed_since)),
        ),
    )
    if after_id is not None:
        stmt = stmt.where(feed.id_column > after_id)
    return (await session.execute(stmt.order_by(feed.id_column).limit(limit))).scalars().all()


async def purge_older_than(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Drop changes past retention (cursors older than that must do a full sync)."""
    result = await session.execute(sa.delete(Change).where(Change.changed_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
