"""Keyset pagination with opaque cursors.

A cursor holds the sort key of the last row returned; the next page continues strictly after it,
so pages neither skip nor repeat rows while others write. Cursors are sealed by
:mod:`app.kit.tokens`: each is bound to the list it came from (and anything that list is narrowed
to, such as one issue's comments) and to the caller it was issued to. Anything else — edited,
from another list, another caller's — is 422 ``invalid_cursor``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
from fastapi import Query

from app.config import Settings
from app.db import ColumnExpr
from app.kit import tokens
from app.kit.schemas import Page
from app.kit.tokens import TIME_ID, Check

if TYPE_CHECKING:
    from app.scope import Principal

DEFAULT_LIMIT, MAX_LIMIT = 50, 200

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size (default {DEFAULT_LIMIT})")]
CursorQuery = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")]


@dataclass(frozen=True)
class Keyset:
    """The cursor of one list for one caller: ``after`` is the opened sort key (None on page one)."""

    settings: Settings
    purpose: str
    binding: tuple[str, ...]
    after: list[Any] | None

    @classmethod
    def open(
        cls,
        settings: Settings,
        principal: Principal,
        name: str,
        cursor: str | None,
        shape: Sequence[Check] = TIME_ID,
        *,
        within: Sequence[str] = (),
    ) -> Keyset:
        """``name`` names the list (``issues``, ``issues.comments``); ``within`` what it is narrowed to."""
        purpose = f"list:{name}"
        binding = (principal.idempotency_owner, *within)
        after = tokens.open_(settings, purpose, cursor, shape, binding=binding) if cursor else None
        return cls(settings, purpose, binding, after)

    def seal(self, values: Sequence[Any]) -> str:
        return tokens.seal(self.settings, self.purpose, values, binding=self.binding)

    def page(
        self, rows: Sequence[Any], limit: int, key: Callable[[Any], Sequence[Any]] | None = None
    ) -> tuple[list[Any], str | None]:
        """Split the ``limit + 1`` rows from :func:`keyset` into a page and the next cursor.
        ``key`` gives a row's sort key; by default ``[row.created_at, row.id]`` (newest first)."""
        items = list(rows[:limit])
        next_cursor = self.seal((key or newest_first)(items[-1])) if len(rows) > limit and items else None
        return items, next_cursor

    def answer(
        self,
        rows: Sequence[Any],
        limit: int,
        out: Callable[[Any], Any],
        key: Callable[[Any], Sequence[Any]] | None = None,
    ) -> Page[Any]:
        """The :class:`Page` a list route answers: :meth:`page`, each item turned into its
        representation by ``out`` (``Out.model_validate`` or a service's converter). The route's
        ``response_model`` (``Page[Out]``) validates and documents it::

            keys = Keyset.open(settings, principal, "things", cursor)
            rows = await service.list_things(session, principal, filters=..., after=keys.after, limit=limit)
            return keys.answer(rows, limit, ThingOut.model_validate)
        """
        items, next_cursor = self.page(rows, limit, key)
        return Page[Any](items=[out(item) for item in items], next_cursor=next_cursor)


def newest_first(row: Any) -> list[Any]:
    """The sort key of a list ordered by creation, newest first (:data:`~app.kit.tokens.TIME_ID`)."""
    return [row.created_at, row.id]


def keyset(
    stmt: sa.Select[Any],
    columns: Sequence[ColumnExpr],
    *,
    after: Sequence[Any] | None,
    limit: int,
    descending: bool = True,
) -> sa.Select[Any]:
    """Order ``stmt`` by ``columns`` and continue after ``after``; fetches ``limit + 1`` rows."""
    if after is not None:
        values = [sa.literal(v, type_=c.type) for v, c in zip(after, columns, strict=True)]
        row_cmp = sa.tuple_(*columns) < sa.tuple_(*values) if descending else sa.tuple_(*columns) > sa.tuple_(*values)
        stmt = stmt.where(row_cmp)
    order = [c.desc() for c in columns] if descending else [c.asc() for c in columns]
    return stmt.order_by(*order).limit(limit + 1)
