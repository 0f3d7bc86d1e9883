"""The one shape of an issue in responses, built once and rendered straight to JSON.

:func:`issue_fields` builds the fields of :class:`schemas.IssueOut` from an issue's columns by
name — a dict, an asyncpg record, a row's mapping, or an ORM issue through :func:`columns_of` —
with the reporter masked, the SLA state computed and the caller's next actions listed;
:func:`detail_fields` adds the co-reporters (:class:`schemas.IssueDetail`). :func:`render` writes
them as JSON exactly as the output models would (UTC as ``Z``, enums by value, UUIDs as text) at a
fraction of the cost: no response builds a model per issue. The output models stay the documented
contract, and a test renders issues in every state both ways and compares them byte for byte.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.issues import repository
from app.issues.models import Issue
from app.issues.workflow import Status, allowed_actions
from app.kit import clock
from app.kit.masking import mask_name, mask_phone
from app.scope import Principal


class Columns(Protocol):
    """An issue's columns by name: a dict, an asyncpg record, or :func:`columns_of` an object."""

    def __getitem__(self, name: str, /) -> Any: ...


class _Attributes:
    """An object's attributes read as columns by name."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getitem__(self, name: str) -> Any:
        return getattr(self.obj, name)


def columns_of(issue: Any) -> Columns:
    """An issue object (ORM, or a row with the columns as attributes) read as :class:`Columns`."""
    return _Attributes(issue)


def issue_fields(c: Columns, principal: Principal | None, now: dt.datetime) -> dict[str, Any]:
    """The fields of :class:`schemas.IssueOut`, in its order, as values :func:`render` writes."""
    return dict(
        id=c["id"],
        number=c["number"],
        title=c["title"],
        description=c["description"],
        kind=c["kind"],
        category=c["category"],
        channel=c["channel"],
        priority=c["priority"],
        status=c["status"],
        tier=c["tier"],
        area_id=c["area_id"],
        location=None if c["lat"] is None else {"lat": c["lat"], "lng": c["lng"]},
        address=c["address"],
        reporter={"name": mask_name(c["reporter_name"]), "phone": mask_phone(c["reporter_phone"])},
        occurred_at=c["occurred_at"],
        external_ref=c["external_ref"],
        assignee_user_id=c["assignee_user_id"],
        assignee_unit_id=c["assignee_unit_id"],
        merged_into_id=c["merged_into_id"],
        diary_entry_id=c["diary_entry_id"],
        outcome=c["outcome"],
        resolution=c["resolution"],
        rating=c["rating"],
        solved=c["solved"],
        escalated=c["escalated"],
        supervised_count=c["supervised_count"],
        reopened_count=c["reopened_count"],
        respond_due_at=c["respond_due_at"],
        resolve_due_at=c["resolve_due_at"],
        sla_state=repository.sla_state(c["due_at"], c["due_soon_at"], c["suspended_since"], now),
        first_responded_at=c["first_responded_at"],
        dispatched_at=c["dispatched_at"],
        resolved_at=c["resolved_at"],
        closed_at=c["closed_at"],
        suspended_since=c["suspended_since"],
        paused_seconds=c["paused_seconds"],
        pending_extension=c["pending_extension"],
        allowed_actions=allowed_actions(Status(c["status"]), principal.role) if principal else [],
        version=c["version"],
        created_at=c["created_at"],
        updated_at=c["updated_at"],
    )


def detail_fields(c: Columns, principal: Principal, co_reporters: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`issue_fields` and the co-reporters (``name``, ``phone``, ``from_issue_id``, masked
    here): the fields of :class:`schemas.IssueDetail`."""
    fields = issue_fields(c, principal, clock.now())
    fields["co_reporters"] = [
        {"name": mask_name(r["name"]), "phone": mask_phone(r["phone"]), "from_issue_id": r["from_issue_id"]}
        for r in co_reporters
    ]
    return fields


async def detail(session: AsyncSession, issue: Issue, principal: Principal, **extra: Any) -> bytes:
    """The detail of an issue the session holds, with its co-reporters read here, as JSON;
    ``extra`` fields follow (``feedback_url`` of :class:`schemas.ActionResult`)."""
    reporters = [
        {"name": r.name, "phone": r.phone, "from_issue_id": r.source_issue_id}
        for r in await repository.co_reporters(session, issue.id)
    ]
    return render(detail_fields(columns_of(issue), principal, reporters) | extra)


_RENDER_OPTIONS = orjson.OPT_UTC_Z


def render(value: Any) -> bytes:
    """JSON of :func:`issue_fields` values (or lists, pages and details of them), as the output
    models write it."""
    return orjson.dumps(value, default=_render_other, option=_RENDER_OPTIONS)


def _render_other(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID type
        return str(value)
    raise TypeError(f"cannot render {type(value).__name__}")
