"""Every file the service keeps in object storage, as the database lists them: issue attachments
and commitment activity photos, each with the id of what it belongs to (its key's first part).
For ``minqing storage migrate``, which copies them from one store to another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.commitments.models import CommitmentActivityPhoto
from app.db import session_factory
from app.issues.files import key_of
from app.issues.models import IssueAttachment
from app.kit.storage import Entry

# Each table of stored files, with the column naming what each file belongs to.
KINDS: tuple[tuple[Any, Any], ...] = (
    (IssueAttachment, IssueAttachment.issue_id),
    (CommitmentActivityPhoto, CommitmentActivityPhoto.activity_id),
)


async def count(engine: AsyncEngine) -> int:
    """How many files there are to copy."""
    total = 0
    async with session_factory(engine)() as session:
        for model, _ in KINDS:
            total += (await session.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()
    return total


async def pages(engine: AsyncEngine, size: int = 200) -> AsyncIterator[list[Entry]]:
    """The stored files in keyset pages of ``size``, each read in a short transaction of its own
    (never one over the whole copy)."""
    for model, owner in KINDS:
        columns = (model.id, owner.label("owner_id"), model.size, model.sha256)
        after = None
        while True:
            stmt = sa.select(*columns).order_by(model.id).limit(size)
            if after is not None:
                stmt = stmt.where(model.id > after)
            async with session_factory(engine)() as session:
                rows = (await session.execute(stmt)).all()
            if not rows:
                break
            after = rows[-1].id
            yield [Entry(key_of(r.owner_id, r.id), r.size, r.sha256) for r in rows]
