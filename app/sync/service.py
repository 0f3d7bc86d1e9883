"""Offline sync (离线同步): pages of the change feed with object snapshots, cursors, tombstones.

The cursor encodes ``(txid, seq)`` of the last change returned, the caller's area path when it was
issued and a timestamp for the retention check. When the caller's scope has changed since:

- narrowed (moved down the tree, e.g. from a grid to one of its micro-grids): the page starts with
  ``delete`` tombstones for every entity that is no longer visible, then continues normally;
- moved elsewhere or widened: 410 ``scope_changed``, because the client also lacks older objects
  of the areas it gained — it must do a full sync.

A cursor older than the retention window gets 410 ``cursor_expired``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Principal, path_within
from app.config import Settings
from app.errors import Gone, ValidationFailed, field_error
from app.kit.pagination import decode_cursor, encode_cursor
from app.sync import changes
from app.sync.changes import FEEDS, Op

MAX_TOMBSTONES = 10_000


@dataclass
class SyncPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str = ""
    has_more: bool = False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _cursor(txid: int, seq: int, path: str, at: dt.datetime) -> str:
    return encode_cursor([txid, seq, path, at])


def _decode(cursor: str) -> tuple[int, int, str, dt.datetime]:
    txid, seq, path, at = decode_cursor(cursor, 4)
    if not (isinstance(txid, int) and isinstance(seq, int) and isinstance(path, str) and isinstance(at, dt.datetime)):
        raise ValidationFailed(
            "The cursor is not valid; start again without one.",
            code="invalid_cursor",
            errors=[field_error("since", "not a cursor returned by /sync/changes")],
        )
    return txid, seq, path, at


def feeds_for(principal: Principal, types: list[str] | None) -> list[changes.Feed]:
    wanted = types or list(FEEDS)
    unknown = [t for t in wanted if t not in FEEDS]
    if unknown:
        raise ValidationFailed(
            f"Unknown types: {', '.join(unknown)}.",
            code="unknown_type",
            errors=[field_error("types", "unknown type", allowed=sorted(FEEDS))],
        )
    # Types a role has no business reading are left out silently, so one client serves all roles.
    return [FEEDS[t] for t in wanted if principal.role in FEEDS[t].roles]


async def read_changes(
    session: AsyncSession,
    principal: Principal,
    *,
    since: str | None,
    types: list[str] | None,
    limit: int,
    settings: Settings,
) -> SyncPage:
    retention = dt.timedelta(days=settings.change_retention_days)
    feeds = feeds_for(principal, types)
    now = _now()
    page = SyncPage()
    if since == "now":
        page.next_cursor = _cursor(await changes.horizon(session) - 1, 2**62, principal.area_path, now)
        return page
    txid, seq, path, at = _decode(since) if since else (0, 0, principal.area_path, now)
    if at < now - retention:
        raise Gone(
            "This cursor is older than the change feed keeps; do a full sync.",
            code="cursor_expired",
            retention_days=retention.days,
        )
    if path != principal.area_path:
        page.items.extend(await _tombstones_for_narrowed_scope(session, principal, feeds, path))

    by_type = {f.entity_type: f for f in feeds}
    rows = await changes.read_after(session, principal, after=(txid, seq), entity_types=list(by_type), limit=limit)
    page.has_more = len(rows) > limit
    rows = rows[:limit]
    # The last change per entity in this page wins; earlier ones carry no extra information.
    latest: dict[tuple[str, Any], Any] = {}
    for row in rows:
        latest.pop((row.entity_type, row.entity_id), None)
        latest[(row.entity_type, row.entity_id)] = row
    snapshots: dict[str, dict[Any, dict[str, Any]]] = {}
    for entity_type, feed in by_type.items():
        ids = [r.entity_id for (t, _), r in latest.items() if t == entity_type and r.op == Op.UPSERT]
        snapshots[entity_type] = await feed.load(session, principal, ids, settings) if ids else {}
    for (entity_type, entity_id), row in latest.items():
        data = snapshots[entity_type].get(entity_id) if row.op == Op.UPSERT else None
        page.items.append(
            {
                "type": by_type[entity_type].name,
                "id": entity_id,
                # Gone from view since (moved to another area, deleted): tell the phone to drop it.
                "op": Op.UPSERT if data is not None else Op.DELETE,
                "changed_at": row.changed_at,
                "data": data,
            }
        )
    if rows:
        txid, seq = int(rows[-1].txid), rows[-1].seq
    stamp = rows[-1].changed_at if page.has_more else now
    page.next_cursor = _cursor(txid, seq, principal.area_path, stamp)
    return page


async def _tombstones_for_narrowed_scope(
    session: AsyncSession, principal: Principal, feeds: list[changes.Feed], old_path: str
) -> list[dict[str, Any]]:
    if not path_within(principal.area_path, old_path):
        raise Gone(
            "Your area has changed since this cursor was issued; do a full sync.",
            code="scope_changed",
        )
    out: list[dict[str, Any]] = []
    now = _now()
    for feed in feeds:
        lost = await changes.lost_entities(session, feed, old_path, principal.area_path, MAX_TOMBSTONES + 1)
        if len(lost) > MAX_TOMBSTONES:
            raise Gone("Your area has changed too much for an incremental sync; do a full sync.", code="scope_changed")
        out.extend({"type": feed.name, "id": i, "op": Op.DELETE, "changed_at": now, "data": None} for i in lost)
    return out
