"""Keyset pagination with opaque cursors.

A cursor encodes the sort key of the last row returned; the next page continues strictly after it,
so pages neither skip nor repeat rows while others write.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Query

from app.db import ColumnExpr
from app.errors import ValidationFailed, field_error

DEFAULT_LIMIT, MAX_LIMIT = 50, 200

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size (default {DEFAULT_LIMIT})")]
CursorQuery = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")]


def _encode_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return {"t": v.isoformat()}
    if isinstance(v, uuid.UUID):
        return {"u": str(v)}
    return v


def _decode_value(v: Any) -> Any:
    if isinstance(v, dict):
        if "t" in v:
            return dt.datetime.fromisoformat(v["t"])
        if "u" in v:
            return uuid.UUID(v["u"])
        raise ValueError("bad cursor value")
    return v


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = [_decode_value(v) for v in json.loads(raw)]
        if len(values) != size:
            raise ValueError("wrong size")
        return values
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is not valid; start again without one.",
            code="invalid_cursor",
            errors=[field_error("cursor", "not a cursor returned by this list")],
        ) from exc


def keyset(
    stmt: sa.Select[Any],
    columns: Sequence[ColumnExpr],
    *,
    cursor: str | None,
    limit: int,
    descending: bool = True,
) -> sa.Select[Any]:
    """Order ``stmt`` by ``columns`` and continue after ``cursor``; fetches ``limit + 1`` rows."""
    if cursor:
        values = decode_cursor(cursor, len(columns))
        row_cmp = sa.tuple_(*columns) < sa.tuple_(*values) if descending else sa.tuple_(*columns) > sa.tuple_(*values)
        stmt = stmt.where(row_cmp)
    order = [c.desc() for c in columns] if descending else [c.asc() for c in columns]
    return stmt.order_by(*order).limit(limit + 1)


def page_of(rows: Sequence[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Split the ``limit + 1`` rows from :func:`keyset` into a page and the next cursor."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor
