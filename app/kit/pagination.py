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
        self, rows: Sequence[Any], limit: int, key: Callable[[Any], Sequence[Any]]
    ) -> tuple[list[Any], str | None]:
        """Split the ``limit + 1`` rows from :func:`keyset` into a page and the next cursor."""
        items = list(rows[:limit])
        next_cursor = self.seal(key(items[-1])) if len(rows) > limit and items else None
        return items, next_cursor


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
