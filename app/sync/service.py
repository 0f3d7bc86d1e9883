"""Offline sync (离线同步): pages of the change feed with object snapshots, cursors, tombstones.

The cursor holds ``(txid, seq)`` of the last change returned, the caller's area path when it was
issued and a timestamp for the retention check, sealed by :mod:`app.kit.tokens` for this feed and
the caller it was issued to: an edited cursor, or one of another user, is 422 ``invalid_cursor``.
When the caller's scope has changed since:

- narrowed (moved down the tree, e.g. from a grid to one of its micro-grids): the feed first sends
  ``delete`` tombstones for the entities the client may hold that are no longer visible — only
  those it was sent under the old scope — then continues normally. Tombstones count against
  ``limit`` like any change; while more remain, the cursor keeps the old path and the last
  tombstone sent;
- moved elsewhere or widened: 410 ``scope_changed``, because the client also lacks older objects
  of the areas it gained — it must do a full sync.

A cursor older than the retention window gets 410 ``cursor_expired``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import Gone, ValidationFailed, field_error
from app.kit import clock, tokens
from app.scope import Principal, path_within
from app.sync import changes
from app.sync.changes import FEEDS, Op

PURPOSE = "sync"
SHAPE = (
    tokens.XID8,  # txid of the last change passed
    tokens.BIGINT,  # its seq
    tokens.area_path,  # the caller's area path when the cursor was issued
    tokens.timestamp,  # for the retention check
    tokens.optional(tokens.text),  # while tombstones are being sent: the feed of the last one …
    tokens.optional(tokens.uuid_value),  # … and its id
)


@dataclass
class SyncPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str = ""
    has_more: bool = False


@dataclass(frozen=True)
class Cursor:
    txid: int
    seq: int
    path: str
    at: dt.datetime
    tombstone: tuple[str, uuid.UUID] | None = None


def seal(settings: Settings, principal: Principal, cursor: Cursor) -> str:
    feed, last = cursor.tombstone or (None, None)
    values = [cursor.txid, cursor.seq, cursor.path, cursor.at, feed, last]
    return tokens.seal(settings, PURPOSE, values, binding=[principal.idempotency_owner])


def open_cursor(settings: Settings, principal: Principal, since: str) -> Cursor:
    txid, seq, path, at, feed, last = tokens.open_(
        settings, PURPOSE, since, SHAPE, binding=[principal.idempotency_owner], field="since", what="/sync/changes"
    )
    if (feed is None) != (last is None):
        raise tokens.invalid_cursor("since", "/sync/changes")
    return Cursor(txid, seq, path, at, (feed, last) if feed is not None else None)


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
    now = clock.now()
    page = SyncPage()
    if since == "now":
        present = Cursor(await changes.horizon(session) - 1, 2**62, principal.area_path, now)
        page.next_cursor = seal(settings, principal, present)
        return page
    cursor = open_cursor(settings, principal, since) if since else Cursor(0, 0, principal.area_path, now)
    if cursor.at < now - retention:
        raise Gone(
            "This cursor is older than the change feed keeps; do a full sync.",
            code="cursor_expired",
            retention_days=retention.days,
        )
    if cursor.path != principal.area_path:
        lost = await _tombstones_for_narrowed_scope(session, principal, feeds, cursor, limit + 1, now)
        if len(lost) > limit:
            page.items, page.has_more = lost[:limit], True
            last = (lost[limit - 1]["type"], lost[limit - 1]["id"])
            page.next_cursor = seal(settings, principal, Cursor(cursor.txid, cursor.seq, cursor.path, cursor.at, last))
            return page
        page.items.extend(lost)
    room = limit - len(page.items)

    txid, seq = cursor.txid, cursor.seq
    by_type = {f.entity_type: f for f in feeds}
    reach = {f.entity_type: f.reach for f in feeds if f.reach is not None}
    rows = await changes.read_after(
        session, principal, after=(txid, seq), entity_types=list(by_type), limit=room, reach=reach
    )
    page.has_more = len(rows) > room
    rows = rows[:room]
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
    stamp = rows[-1].changed_at if page.has_more and rows else now
    page.next_cursor = seal(settings, principal, Cursor(txid, seq, principal.area_path, stamp))
    return page


async def _tombstones_for_narrowed_scope(
    session: AsyncSession,
    principal: Principal,
    feeds: list[changes.Feed],
    cursor: Cursor,
    limit: int,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Up to ``limit`` tombstones after the cursor's last one, in feed order, then id order."""
    if not path_within(principal.area_path, cursor.path):
        raise Gone(
            "Your area has changed since this cursor was issued; do a full sync.",
            code="scope_changed",
        )
    names = [f.name for f in feeds]
    done_feed, after_id = cursor.tombstone or (None, None)
    if done_feed is not None and done_feed not in FEEDS:
        raise tokens.invalid_cursor("since", "/sync/changes")
    out: list[dict[str, Any]] = []
    for feed in feeds:
        if done_feed is not None and done_feed in names and names.index(feed.name) < names.index(done_feed):
            continue
        lost = await changes.lost_entities(
            session,
            feed,
            old_path=cursor.path,
            new_path=principal.area_path,
            at=(cursor.txid, cursor.seq),
            after_id=after_id if feed.name == done_feed else None,
            limit=limit - len(out),
        )
        out.extend({"type": feed.name, "id": i, "op": Op.DELETE, "changed_at": now, "data": None} for i in lost)
        if len(out) >= limit:
            break
    return out
