"""The timeline (办理过程) and what travels with it.

Every event on an issue is appended by :func:`record` while the issue row is locked, so ``seq``
is gapless and unique; every event is also a change in the offline-sync feed, in the same
transaction. Integrations hear of an issue through :func:`emit`: thin outbox payloads of ids,
number, status and timestamps — never personal data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.issues.models import Issue, IssueEvent
from app.issues.workflow import SYSTEM, Status
from app.kit import outbox
from app.scope import Principal
from app.sync.changes import add_change

ENTITY = "issue"
"""The issues' entity type in the change feed."""
AGGREGATE = "issue"
"""The issues' aggregate type in the outbox."""


def touch(issue: Issue, now: dt.datetime) -> None:
    """A change to the issue itself; its version moves with the flush (``VersionMixin``)."""
    issue.updated_at = now


def record(
    session: AsyncSession,
    issue: Issue,
    principal: Principal | None,
    action: str,
    before: Status | None,
    after: Status,
    payload: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Append to the timeline; the issue row is locked, so ``seq`` is gapless and unique.

    Every timeline event is also a change in the offline-sync feed (same transaction)."""
    issue.last_event_seq += 1
    add_change(session, ENTITY, issue.id, issue.area_id)
    session.add(
        IssueEvent(
            issue_id=issue.id,
            seq=issue.last_event_seq,
            action=action,
            from_status=before.value if before else None,
            to_status=after.value,
            actor_id=principal.user_id if principal else None,
            actor_role=principal.role.value if principal else SYSTEM.value,
            actor_name=principal.display_name if principal else "系统",
            payload=payload,
            created_at=now,
        )
    )


async def keep_version(session: AsyncSession, issue: Issue) -> None:
    """Write the timeline counter :func:`record` moved without an ORM write of the issue, so its
    version stays: a remark must not make a phone's pending action fail its If-Match."""
    table = cast(sa.Table, Issue.__table__)
    await session.execute(sa.update(table).where(table.c.id == issue.id).values(last_event_seq=issue.last_event_seq))
    set_committed_value(issue, "last_event_seq", issue.last_event_seq)


def event_payload(issue: Issue, now: dt.datetime, **extra: Any) -> dict[str, Any]:
    """Thin payloads for integrations: ids, number, status, timestamps — never personal data."""
    return {
        "issue_id": str(issue.id),
        "number": issue.number,
        "status": issue.status,
        "tier": issue.tier,
        "area_id": str(issue.area_id),
        "external_ref": issue.external_ref,
        "occurred_at": now.isoformat(),
        **extra,
    }


def message(event_type: str, issue: Issue, now: dt.datetime, **extra: Any) -> dict[str, Any]:
    """The outbox row of an issue event (see :func:`app.kit.outbox.values`)."""
    return outbox.values(event_type, AGGREGATE, issue.id, event_payload(issue, now, **extra))


def emit(session: AsyncSession, event_type: str, issue: Issue, now: dt.datetime, **extra: Any) -> None:
    outbox.emit(session, event_type, AGGREGATE, issue.id, event_payload(issue, now, **extra))
