"""一年10件实事: annual lists, their items, workflow, activities (民事民办), evaluations (民事民评)
and progress computed from kept aggregates.

Who does what: community and street administrators draw up a community's list and submit it; the
street (镇街党(工)委: street administrators, administrators) approves or returns it; the community
publishes it (公示). Grid workers and administrators record activities and staff evaluations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.roles import Role
from app.commitments import repository, schedule, workflow
from app.commitments.models import (
    CommitmentActivity,
    CommitmentActivityItem,
    CommitmentEvaluation,
    CommitmentFeedbackToken,
    CommitmentItem,
    CommitmentList,
    EvaluationSource,
)
from app.commitments.schemas import (
    ActivityBatchItem,
    ActivityBatchResult,
    ActivityOut,
    CommitmentItemOut,
    ListDetail,
    ListOut,
    MilestoneOut,
    ProgressOut,
    RatingsOut,
)
from app.commitments.workflow import Action, ListStatus
from app.config import Settings
from app.consultation.models import Proposal
from app.db import touch
from app.errors import AppError, Conflict, Gone, NotFound, ValidationFailed, field_error
from app.grids import service as grids
from app.grids.models import Area
from app.issues.workflow import Rating
from app.kit import batch, clock, outbox
from app.kit.ids import new_id, resent
from app.kit.repository import saved
from app.kit.schemas import output
from app.scope import Principal, path_within, resolve_in_scope, serving, unknown_reference
from app.sync.changes import Feed, record_change, register_feed

MANAGERS = frozenset({Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
APPROVERS = frozenset({Role.STREET_ADMIN, Role.ADMIN})
RECORDERS = MANAGERS | {Role.GRID_WORKER}
READERS = RECORDERS | {Role.MEDIATOR, Role.VIEWER}
FEEDBACK_TTL = dt.timedelta(days=60)
ACTIVITY = "commitment_activity"  # in the change feed
MAX_BATCH = 200
FEEDBACK_PATH = "/api/v1/commitment-feedback/"
RATING_COLUMN = {
    Rating.SATISFIED: "rated_satisfied",
    Rating.BASICALLY_SATISFIED: "rated_basically",
    Rating.DISSATISFIED: "rated_dissatisfied",
}


def today(settings: Settings, at: dt.datetime | None = None) -> dt.date:
    """The local date (``settings.timezone``) at ``at`` (default now)."""
    return schedule.local_day(at or clock.now(), ZoneInfo(settings.timezone))


# --- lists ---------------------------------------------------------------------------------------


async def create_list(
    session: AsyncSession, principal: Principal, data: dict[str, Any], settings: Settings
) -> CommitmentList:
    area = await grids.get_in_scope(session, principal, data.get("area_id") or principal.area_id, field="area_id")
    if area.level != "community":
        raise ValidationFailed(
            "An annual commitment list belongs to a community.",
            code="not_a_community",
            errors=[field_error("area_id", f"is a {area.level}; name a community")],
        )
    if await repository.list_exists(session, area.id, data["year"]):
        raise Conflict(
            f"{area.name} already has a list for {data['year']}.",
            code="commitment_list_exists",
            errors=[field_error("year", "a list for this community and year exists")],
        )
    check_item_count(len(data.get("items") or []), settings, field="items")
    row = CommitmentList(
        id=new_id(),
        area_id=area.id,
        year=data["year"],
        title=data.get("title") or f"{area.name}{data['year']}年一年10件实事",
        status=ListStatus.DRAFT.value,
        created_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    for position, item in enumerate(data.get("items") or [], start=1):
        field = f"items.{position - 1}"
        created = new_item(row, position, item, field=field)
        session.add(created)
        await session.flush()
        await link_proposals(session, principal, created, item.get("proposal_ids") or [], f"{field}.proposal_ids")
    await session.flush()
    await session.refresh(row)
    await audit.record(session, principal, "commitment_list.create", row.id, row.area_id)
    return row


def check_item_count(count: int, settings: Settings, *, field: str) -> None:
    if count > settings.commitments_per_list:
        raise ValidationFailed(
            f"A list holds at most {settings.commitments_per_list} items.",
            code="too_many_commitments",
            errors=[field_error(field, f"at most {settings.commitments_per_list} items")],
        )


def _milestones(items: list[dict[str, Any]], year: int, field: str) -> list[dict[str, Any]]:
    out = []
    for i, m in enumerate(items):
        if m["due"].year != year:
            raise ValidationFailed(
                f"A milestone of a {year} commitment falls due in {year}.",
                code="milestone_outside_year",
                errors=[field_error(f"{field}.milestones.{i}.due", f"must be in {year}")],
            )
        out.append({"title": m["title"], "due": m["due"].isoformat(), "done_on": None})
    return out


def check_schedule(value: dict[str, Any] | None, field: str) -> None:
    """What the schema cannot say: a season's window runs forwards, a range's max is not below its min."""
    if value is None:
        return
    if value["kind"] == "season" and value["end"] < value["start"]:
        raise ValidationFailed(
            "A season is a window within one year: its end is not before its start.",
            code="invalid_schedule",
            errors=[field_error(f"{field}.end", "must not be before start")],
        )
    if value["kind"] == "range" and value["max"] < value["min"]:
        raise ValidationFailed(
            "A range's max is not less than its min.",
            code="invalid_schedule",
            errors=[field_error(f"{field}.max", "must not be less than min")],
        )


async def link_proposals(
    session: AsyncSession, principal: Principal, item: CommitmentItem, proposal_ids: Sequence[uuid.UUID], field: str
) -> None:
    """Link ``item`` to the proposals (民事民提) it answers, replacing its links: each a proposal the
    caller sees, of the item's community (422 ``unknown_proposal`` on ``field`` otherwise)."""
    community = await session.get(Area, item.area_id)
    assert community is not None
    for proposal_id in dict.fromkeys(proposal_ids):
        proposal = await resolve_in_scope(session, principal, Proposal, proposal_id, field=field, thing="proposal")
        where = await session.get(Area, proposal.area_id)
        if where is None or not path_within(where.path, community.path):
            raise unknown_reference("proposal", field, message="not a proposal of the item's community")
    await repository.set_proposals(session, item.id, list(proposal_ids))


def new_item(row: CommitmentList, position: int, data: dict[str, Any], *, field: str) -> CommitmentItem:
    check_schedule(data.get("schedule"), f"{field}.schedule")
    return CommitmentItem(
        id=new_id(),
        list_id=row.id,
        area_id=row.area_id,
        year=row.year,
        position=position,
        category=str(data["category"]),
        title=data["title"],
        description=data.get("description") or "",
        responsible=data.get("responsible"),
        budget_yuan=data.get("budget_yuan"),
        schedule=data.get("schedule"),
        milestones=_milestones(data.get("milestones") or [], row.year, field),
    )


get_list = repository.lists_seen.one
"""A list the caller may read: 404 ``commitment_list_not_found``."""

get_for_change = repository.lists.for_change
"""A list of the caller's subtree locked for a change; a stale ``If-Match`` (when sent) is 412."""


async def list_lists(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[CommitmentList]:
    area_path = await grids.area_path(session, principal, filters.get("area_id"))
    return await repository.list_in_scope(
        session,
        principal,
        area_path=area_path,
        year=filters.get("year"),
        status=filters.get("status"),
        after=after,
        limit=limit,
    )


async def _changed(session: AsyncSession, row: CommitmentList) -> CommitmentList:
    return await saved(session, row)


async def add_item(
    session: AsyncSession, principal: Principal, row: CommitmentList, data: dict[str, Any], settings: Settings
) -> CommitmentList:
    workflow.check(ListStatus(row.status), Action.EDIT)
    check_item_count(await repository.count_items(session, row.id) + 1, settings, field="title")
    item = new_item(row, await repository.next_position(session, row.id), data, field="body")
    session.add(item)
    await session.flush()
    await link_proposals(session, principal, item, data.get("proposal_ids") or [], "proposal_ids")
    return await _changed(session, row)


async def _item_of(session: AsyncSession, row: CommitmentList, item_id: uuid.UUID) -> CommitmentItem:
    item = await session.scalar(
        sa.select(CommitmentItem).where(CommitmentItem.id == item_id, CommitmentItem.list_id == row.id)
    )
    if item is None:
        raise NotFound("No such item in this list.", code="commitment_item_not_found")
    return item


async def patch_item(
    session: AsyncSession, principal: Principal, row: CommitmentList, item_id: uuid.UUID, data: dict[str, Any]
) -> CommitmentList:
    workflow.check(ListStatus(row.status), Action.EDIT)
    item = await _item_of(session, row, item_id)
    for key in ("category", "title", "description", "responsible", "budget_yuan", "schedule"):
        if key in data:
            if key in ("category", "title", "description") and data[key] is None:
                raise ValidationFailed(
                    f"{key} cannot be cleared.", code="validation_failed", errors=[field_error(key, "must not be null")]
                )
            setattr(item, key, str(data[key]) if key == "category" else data[key])
    if data.get("milestones") is not None:
        item.milestones = _milestones(data["milestones"], row.year, "body")
    if data.get("proposal_ids") is not None:
        await link_proposals(session, principal, item, data["proposal_ids"], "proposal_ids")
        touch(item)
    return await _changed(session, row)


async def delete_item(session: AsyncSession, row: CommitmentList, item_id: uuid.UUID) -> CommitmentList:
    workflow.check(ListStatus(row.status), Action.EDIT)
    item = await _item_of(session, row, item_id)
    await session.delete(item)
    await session.flush()
    # Keep positions 1 … n: the public notice numbers the items.
    rest = (
        await session.execute(
            sa.select(CommitmentItem).where(CommitmentItem.list_id == row.id).order_by(CommitmentItem.position)
        )
    ).scalars()
    for n, other in enumerate(list(rest), start=1):
        if other.position != n:
            other.position = n
            await session.flush()
    return await _changed(session, row)


async def transition(
    session: AsyncSession, principal: Principal, row: CommitmentList, action: Action, reason: str | None = None
) -> CommitmentList:
    status = workflow.after(ListStatus(row.status), action)
    now = clock.now()
    if action is Action.SUBMIT:
        if await repository.count_items(session, row.id) == 0:
            raise Conflict("A list without items cannot be submitted.", code="commitment_list_empty")
        row.submitted_at = now
        row.returned_reason = None
    elif action in (Action.APPROVE, Action.RETURN):
        row.decided_at, row.decided_by = now, principal.user_id
        row.returned_reason = reason if action is Action.RETURN else None
    elif action is Action.PUBLISH:
        row.published_at = now
    elif action is Action.CLOSE:
        row.closed_at = now
    row.status = status.value
    await audit.record(session, principal, f"commitment_list.{action.value}", row.id, row.area_id, reason=reason)
    if action in (Action.PUBLISH, Action.CLOSE):
        outbox.emit(
            session,
            f"commitment_list.{status.value}",
            "commitment_list",
            row.id,
            {"list_id": str(row.id), "area_id": str(row.area_id), "year": row.year, "status": status.value},
        )
    return await _changed(session, row)


# --- progress ------------------------------------------------------------------------------------


def progress_of(item: CommitmentItem, on: dt.date) -> schedule.Progress:
    return schedule.progress(item.schedule, list(item.milestones or []), item.done_count, item.year, on)


def progress_out(item: CommitmentItem, on: dt.date) -> ProgressOut:
    """An item's progress as of ``on`` as answered, privately and on the public notice alike."""
    p = progress_of(item, on)
    return ProgressOut(**dataclasses.asdict(p), percent=p.percent, activities=item.done_count)


def milestones_out(item: CommitmentItem) -> list[MilestoneOut]:
    return [MilestoneOut(**m) for m in item.milestones or []]


def ratio(numerator: int, denominator: int) -> str | None:
    """An exact share to 4 places (half-even), as text; None without a denominator."""
    if denominator == 0:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def ratings_of(item: CommitmentItem) -> RatingsOut:
    total = item.rated_satisfied + item.rated_basically + item.rated_dissatisfied
    return RatingsOut(
        satisfied=item.rated_satisfied,
        basically_satisfied=item.rated_basically,
        dissatisfied=item.rated_dissatisfied,
        total=total,
        satisfaction=ratio(item.rated_satisfied + item.rated_basically, total),
    )


async def item_answer(session: AsyncSession, item: CommitmentItem, settings: Settings) -> CommitmentItemOut:
    """One item as answered on its own: progress as of today, and the proposals it answers."""
    links = await repository.proposals_of(session, [item.id])
    return item_out(item, today(settings), links[item.id])


def item_out(item: CommitmentItem, on: dt.date, proposal_ids: Sequence[uuid.UUID] = ()) -> CommitmentItemOut:
    return output(
        CommitmentItemOut,
        item,
        milestones=milestones_out(item),
        progress=progress_out(item, on),
        ratings=ratings_of(item),
        proposal_ids=list(proposal_ids),
    )


async def outs(session: AsyncSession, rows: Sequence[CommitmentList]) -> list[ListOut]:
    names = await repository.area_names(session, [r.area_id for r in rows])
    return [
        output(
            ListOut,
            r,
            area_name=names.get(r.area_id, ""),
            allowed_actions=[a.value for a in workflow.allowed_actions(ListStatus(r.status))],
        )
        for r in rows
    ]


async def detail(session: AsyncSession, row: CommitmentList, settings: Settings) -> ListDetail:
    return (await detail_and_items(session, row, settings))[0]


async def detail_and_items(
    session: AsyncSession, row: CommitmentList, settings: Settings
) -> tuple[ListDetail, list[CommitmentItem]]:
    """A list as answered, and its items as stored (for figures of one's own: the export's)."""
    (base,) = await outs(session, [row])
    items = (await repository.items_of(session, [row.id]))[row.id]
    on = today(settings)
    links = await repository.proposals_of(session, [i.id for i in items])
    return ListDetail(**base.model_dump(), items=[item_out(i, on, links[i.id]) for i in items]), items


# --- activities (民事民办) ------------------------------------------------------------------------


async def _items_for_activity(
    session: AsyncSession, principal: Principal, item_ids: Sequence[uuid.UUID]
) -> list[tuple[CommitmentItem, CommitmentList]]:
    out = []
    for item_id in dict.fromkeys(item_ids):
        row = await resolve_in_scope(
            session,
            principal,
            CommitmentItem,
            item_id,
            field="item_ids",
            thing="commitment_item",
            scope=repository.visible(principal, CommitmentItem.area_id),
            for_update=True,
        )
        owner = await session.get(CommitmentList, row.list_id)
        assert owner is not None
        out.append((row, owner))
    return out


async def record_activity(
    session: AsyncSession, principal: Principal, data: dict[str, Any], settings: Settings
) -> tuple[CommitmentActivity, bool]:
    """The activity and whether it is new: a resent client id answers the activity recorded then."""
    if data.get("id") and (
        existing := resent(await repository.activity(session, data["id"]), lambda a: a.recorded_by == principal.user_id)
    ):
        return existing, False
    pairs = await _items_for_activity(session, principal, data["item_ids"])
    areas = {item.area_id for item, _ in pairs}
    if len(areas) > 1:
        raise ValidationFailed(
            "An activity serves the items of one community.",
            code="items_of_several_communities",
            errors=[field_error("item_ids", "items of one community only")],
        )
    held_on = today(settings, data["held_at"])
    for n, (item, owner) in enumerate(pairs):
        workflow.check(ListStatus(owner.status), Action.RECORD)
        if held_on.year != item.year:
            raise ValidationFailed(
                f"The activity took place on {held_on} (local time); the item is a commitment of {item.year}.",
                code="activity_outside_year",
                errors=[
                    field_error("held_at", f"must fall in {item.year} (local time)"),
                    field_error(f"item_ids.{n}", f"a commitment of {item.year}"),
                ],
            )
    activity = CommitmentActivity(
        id=data.get("id") or new_id(),
        area_id=pairs[0][0].area_id,
        held_at=data["held_at"],
        held_on=held_on,
        place=data["place"],
        participants=data.get("participants") or 0,
        volunteers=data.get("volunteers") or 0,
        notes=data.get("notes"),
        recorded_by=principal.user_id,
    )
    session.add(activity)
    await session.flush()
    for item, _ in pairs:
        counted = schedule.counts(item.schedule, item.year, held_on)
        session.add(CommitmentActivityItem(activity_id=activity.id, item_id=item.id, counted=counted))
        if counted:
            before = progress_of(item, today(settings)).status
            item.done_count += 1
            item.last_done_on = max(item.last_done_on or held_on, held_on)
            if before != schedule.DONE and progress_of(item, today(settings)).status == schedule.DONE:
                outbox.emit(
                    session,
                    "commitment.done",
                    "commitment_item",
                    item.id,
                    {"item_id": str(item.id), "list_id": str(item.list_id), "area_id": str(item.area_id)},
                )
        else:
            touch(item)
    await session.flush()
    await session.refresh(activity)
    await record_change(session, ACTIVITY, activity.id, activity.area_id)
    return activity, True


def _activity_content(activity: CommitmentActivity, item_ids: Sequence[uuid.UUID]) -> tuple[Any, ...]:
    return (
        frozenset(item_ids),
        activity.held_at.astimezone(dt.UTC),
        activity.place,
        activity.participants,
        activity.volunteers,
        activity.notes,
    )


def _sent_content(item: ActivityBatchItem) -> tuple[Any, ...]:
    return (
        frozenset(item.item_ids),
        item.held_at.astimezone(dt.UTC),
        item.place,
        item.participants,
        item.volunteers,
        item.notes,
    )


def _invalid(index: int, activity_id: uuid.UUID | None, code: str, errors: list[dict[str, Any]]) -> ActivityBatchResult:
    return ActivityBatchResult(index=index, id=activity_id, status="invalid", code=code, errors=errors)


async def batch_activities(
    session: AsyncSession, principal: Principal, items: list[Any], settings: Settings
) -> list[ActivityBatchResult]:
    """Activities written offline (离线批量上传), as the diary's batch: each item its own verdict, each
    written whole or not at all (a savepoint per item), one bad item never sinks the rest.

    ``created``; ``unchanged`` (the same id with the same content again: resending is safe);
    ``conflict`` (the id holds another activity of yours: an activity is not edited, ``current``
    shows it); ``invalid`` (with ``code`` and ``errors`` as the single route would answer)."""
    results, parsed = batch.parse(items, ActivityBatchItem, max_items=MAX_BATCH, noun="activities", invalid=_invalid)
    # What the whole batch names, read once: the activities already recorded under its ids and the
    # items the caller may record for; only what passes is written, each in a savepoint.
    existing = await repository.activities_with_ids(session, [p.id for p in parsed.values()])
    recorded_items = await repository.activity_item_ids(session, list(existing))
    known = await repository.visible_item_ids(
        session, principal, list({i for p in parsed.values() for i in p.item_ids})
    )
    for index, item in parsed.items():
        found = existing.get(item.id)
        if found is not None:
            results[index] = await _resent(session, principal, index, item, found, recorded_items[found.id])
            continue
        if not set(item.item_ids) <= known:
            error = unknown_reference("commitment_item", "item_ids")
            results[index] = _invalid(index, item.id, error.code, list(error.errors))
            continue
        try:
            async with session.begin_nested():
                await record_activity(session, principal, item.model_dump(), settings)
        except AppError as err:
            results[index] = _invalid(index, item.id, err.code, list(err.errors))
            continue
        except sa.exc.IntegrityError:  # the same id, sent by another upload that committed meanwhile
            results[index] = ActivityBatchResult(index=index, id=item.id, status="conflict", code="id_taken")
            continue
        results[index] = ActivityBatchResult(index=index, id=item.id, status="created")
    return [results[i] for i in range(len(items))]


async def _resent(
    session: AsyncSession,
    principal: Principal,
    index: int,
    item: ActivityBatchItem,
    found: CommitmentActivity,
    item_ids: Sequence[uuid.UUID],
) -> ActivityBatchResult:
    """The verdict on an id already recorded: a resend, another activity of the caller's, or not theirs."""
    if found.recorded_by != principal.user_id:
        return _invalid(index, item.id, "id_taken", [field_error("id", "already used")])
    if _activity_content(found, item_ids) == _sent_content(item):
        return ActivityBatchResult(index=index, id=item.id, status="unchanged")
    (current,) = await activity_outs(session, [found])
    return ActivityBatchResult(index=index, id=item.id, status="conflict", code="id_taken", current=current)


async def activity_outs(session: AsyncSession, rows: Sequence[CommitmentActivity]) -> list[ActivityOut]:
    ids = await repository.activity_item_ids(session, [r.id for r in rows])
    return [
        ActivityOut(**{k: getattr(r, k) for k in ActivityOut.model_fields if k != "item_ids"}, item_ids=ids[r.id])
        for r in rows
    ]


async def activity_snapshots(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID], settings: Settings
) -> dict[uuid.UUID, dict[str, Any]]:
    """The change feed's view of activities: those of ``ids`` the caller reads, as JSON values."""
    rows = await repository.activities_by_ids(session, principal, ids)
    return {a.id: a.model_dump(mode="json") for a in await activity_outs(session, rows)}


# A phone in a grid pulls the activities of its community's commitments: they are kept at the
# community, above the grid, so the feed reaches the caller's branch as reads of activities do.
register_feed(
    Feed(
        name="commitment_activities",
        entity_type=ACTIVITY,
        roles=RECORDERS | {Role.MEDIATOR},
        id_column=CommitmentActivity.id,
        area_column=CommitmentActivity.area_id,
        load=activity_snapshots,
        reach=serving,
    )
)


async def list_activities(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[CommitmentActivity]:
    area_path = await grids.area_path(session, principal, filters.get("area_id"))
    return await repository.activities_in_scope(
        session, principal, item_id=filters.get("item_id"), area_path=area_path, after=after, limit=limit
    )


# --- items: milestones and evaluations -----------------------------------------------------------


async def get_item(
    session: AsyncSession, principal: Principal, item_id: uuid.UUID, *, write: bool = False
) -> tuple[CommitmentItem, CommitmentList]:
    stmt = sa.select(CommitmentItem).where(
        CommitmentItem.id == item_id, repository.visible(principal, CommitmentItem.area_id)
    )
    if write:
        stmt = stmt.with_for_update(of=CommitmentItem).execution_options(populate_existing=True)
    item = (await session.execute(stmt)).scalar_one_or_none()
    if item is None:
        raise NotFound("No such commitment item in your area.", code="commitment_item_not_found")
    owner = await session.get(CommitmentList, item.list_id)
    assert owner is not None
    return item, owner


async def milestone_done(
    session: AsyncSession, item: CommitmentItem, owner: CommitmentList, number: int, done_on: dt.date
) -> CommitmentItem:
    workflow.check(ListStatus(owner.status), Action.RECORD)
    milestones = [dict(m) for m in item.milestones or []]
    if not 1 <= number <= len(milestones):
        raise NotFound(f"This item has {len(milestones)} milestones.", code="milestone_not_found")
    if done_on.year != item.year:
        raise ValidationFailed(
            f"A milestone of a {item.year} commitment is done in {item.year}.",
            code="milestone_outside_year",
            errors=[field_error("done_on", f"must be in {item.year}")],
        )
    milestones[number - 1]["done_on"] = done_on.isoformat()
    item.milestones = milestones
    return await saved(session, item)


async def _count_rating(session: AsyncSession, item: CommitmentItem, rating: Rating) -> None:
    column = RATING_COLUMN[rating]
    setattr(item, column, getattr(item, column) + 1)
    await session.flush()


async def evaluate(
    session: AsyncSession, principal: Principal, item: CommitmentItem, owner: CommitmentList, data: dict[str, Any]
) -> CommitmentItem:
    workflow.check(ListStatus(owner.status), Action.EVALUATE)
    rating = Rating(data["rating"])
    session.add(
        CommitmentEvaluation(
            item_id=item.id,
            rating=rating.value,
            comment=data.get("comment"),
            source=EvaluationSource.STAFF.value,
            recorded_by=principal.user_id,
        )
    )
    await _count_rating(session, item, rating)
    await session.refresh(item)
    return item


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def feedback_links(
    session: AsyncSession, item: CommitmentItem, owner: CommitmentList, count: int
) -> tuple[list[str], dt.datetime]:
    workflow.check(ListStatus(owner.status), Action.EVALUATE)
    expires = clock.now() + FEEDBACK_TTL
    urls = []
    for _ in range(count):
        token = secrets.token_urlsafe(32)
        session.add(CommitmentFeedbackToken(item_id=item.id, token_hash=_token_hash(token), expires_at=expires))
        urls.append(FEEDBACK_PATH + token)
    await session.flush()
    return urls, expires


async def submit_feedback(session: AsyncSession, token: str, data: dict[str, Any]) -> None:
    stmt = (
        sa.select(CommitmentFeedbackToken)
        .where(CommitmentFeedbackToken.token_hash == _token_hash(token))
        .with_for_update()
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound("This evaluation link is not valid.", code="feedback_not_found")
    if row.used_at is not None:
        raise Gone("This evaluation link has already been used.", code="feedback_used")
    now = clock.now()
    if now >= row.expires_at:
        raise Gone("This evaluation link has expired.", code="feedback_expired")
    item = await session.get(CommitmentItem, row.item_id, with_for_update=True)
    assert item is not None
    owner = await session.get(CommitmentList, item.list_id)
    assert owner is not None
    if ListStatus(owner.status) not in workflow.TRANSITIONS[Action.EVALUATE][0]:
        raise Gone("This list no longer takes evaluations.", code="feedback_expired")
    rating = Rating(data["rating"])
    row.used_at = now
    session.add(
        CommitmentEvaluation(
            item_id=item.id, rating=rating.value, comment=data.get("comment"), source=EvaluationSource.RESIDENT.value
        )
    )
    await _count_rating(session, item, rating)


# --- behind: the housekeeping round -------------------------------------------------------------


async def announce_behind(session: AsyncSession, settings: Settings, now: dt.datetime | None = None) -> int:
    """Emit ``commitment.behind`` once for each occurrence of a published item that fell behind
    (expected by today and not done); returns how many items were announced."""
    on = today(settings, now)
    stmt = (
        sa.select(CommitmentItem)
        .join(CommitmentList, CommitmentList.id == CommitmentItem.list_id)
        .where(CommitmentList.status == ListStatus.PUBLISHED.value, CommitmentItem.year <= on.year)
        .with_for_update(of=CommitmentItem, skip_locked=True)
    )
    announced = 0
    for item in (await session.execute(stmt)).scalars():
        p = progress_of(item, on)
        missing = p.expected - min(p.done, p.expected)
        if p.status != schedule.BEHIND or p.expected <= item.behind_notified:
            continue
        outbox.emit(
            session,
            "commitment.behind",
            "commitment_item",
            item.id,
            {
                "item_id": str(item.id),
                "list_id": str(item.list_id),
                "area_id": str(item.area_id),
                "year": item.year,
                "expected": p.expected,
                "done": p.done,
                "missing": missing,
                "as_of": on.isoformat(),
            },
        )
        table = cast(sa.Table, CommitmentItem.__table__)  # bookkeeping: the representation is unchanged
        await session.execute(sa.update(table).where(table.c.id == item.id).values(behind_notified=p.expected))
        announced += 1
    return announced
