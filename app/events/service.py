"""The event stream's replay: what a reconnecting client missed, read in its scope."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.hub import BATCH, EVENT_NAMES, Event
from app.scope import Principal
from app.sync.changes import read_after


async def replay(session: AsyncSession, principal: Principal, after: tuple[int, int]) -> tuple[list[Event], bool]:
    """The events after ``after`` in ``principal``'s scope (at most :data:`BATCH`), and whether
    more were missed than that (the client must then reload everything)."""
    rows = await read_after(session, principal, after=after, entity_types=list(EVENT_NAMES), limit=BATCH)
    return [Event.of(r._mapping) for r in rows[:BATCH]], len(rows) > BATCH
