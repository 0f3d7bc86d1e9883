"""What the event stream reads: settled changes of the change feed, on the hub's own connection."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

SETTLED_AFTER = """
SELECT c.seq, c.txid::text AS txid, c.entity_type, c.entity_id, c.area_id, c.op, c.changed_at, a.path::text AS path
FROM change_log c JOIN areas a ON a.id = c.area_id
WHERE (c.txid, c.seq) > ($1::text::xid8, $2::bigint)
  AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
  AND c.entity_type = ANY($3::text[])
ORDER BY c.txid, c.seq
LIMIT $4
"""


async def horizon(conn: asyncpg.Connection) -> int:
    """The oldest transaction still running: every change before it has settled."""
    return int(await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"))


async def settled_after(
    conn: asyncpg.Connection, after: tuple[int, int], entity_types: Sequence[str], limit: int
) -> list[asyncpg.Record]:
    """Settled changes of ``entity_types`` after ``(txid, seq)``, in stream order, with their area's path."""
    return await conn.fetch(SETTLED_AFTER, str(after[0]), after[1], list(entity_types), limit)
