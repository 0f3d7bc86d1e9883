"""民情日记: create (idempotent by client id), edit with If-Match, scoped lists, offline batch upload."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.config import Settings
from app.diary import repository
from app.diary.models import DiaryEntry, DiaryStatus
from app.diary.schemas import MAX_BATCH, BatchItemResult, DiaryBatchItem, DiaryEscalate, DiaryOut
from app.errors import Conflict, field_error
from app.grids import service as grids
from app.grids.service import GRID_LEVELS
from app.issues.models import Issue
from app.issues.workflow import Channel as IssueChannel
from app.issues.workflow import Kind as IssueKind
from app.kit import batch
from app.kit.etag import write_if_match
from app.kit.ids import new_id
from app.kit.patch import not_null
from app.residents import service as residents
from app.residents.models import Resident
from app.scope import Principal, resolve_in_scope
from app.sync.changes import Feed, Op, record_change, record_changes, register_feed

ENTITY = "diary_entry"
DIARY_READERS = frozenset({Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN})
DIARY_WRITERS = DIARY_READERS


def _content(data: Mapping[str, Any]) -> tuple[Any, ...]:
    values = []
    for column in repository.CONTENT_COLUMNS:
        value = data.get(column)
        if column == "tags":
            value = tuple(value or ())
        elif column == "visited_at" and value is not None:
            value = value.astimezone(dt.UTC)
        elif value is not None and column in ("kind", "status"):
            value = str(value)
        values.append(value)
    return tuple(values)


def _entry_content(entry: DiaryEntry) -> tuple[Any, ...]:
    return _content({c: getattr(entry, c) for c in repository.CONTENT_COLUMNS})


def _normalised(data: Mapping[str, Any], area_id: uuid.UUID) -> dict[str, Any]:
    row = {c: data.get(c) for c in repository.CONTENT_COLUMNS}
    row["area_id"] = area_id
    row["kind"] = str(row["kind"])
    row["status"] = str(row.get("status") or DiaryStatus.OPEN)
    row["tags"] = list(row.get("tags") or [])
    return row


async def _check_links(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> None:
    """The household and resident an entry names, in the caller's scope (422 ``unknown_household``
    / ``unknown_resident`` otherwise)."""
    if data.get("household_id"):
        await residents.get_household(session, principal, data["household_id"], field="household_id")
    if data.get("resident_id"):
        await resolve_in_scope(session, principal, Resident, data["resident_id"], field="resident_id", thing="resident")


async def create(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> tuple[DiaryEntry, bool]:
    """Returns ``(entry, created)``; re-sending the same id with the same content is not an error."""
    area = await grids.get_grid_in_scope(session, principal, data.get("area_id"))
    row = _normalised(data, area.id)
    entry_id = data.get("id")
    if entry_id is not None:
        existing = await repository.entries.get(session, principal, entry_id)
        if existing is not None and _entry_content(existing) == _content(row):
            return existing, False
        if existing is not None or await repository.entries.exists(session, entry_id):
            raise Conflict(
                "Another diary entry has this id; send the update with PATCH or the batch with base_version.",
                code="id_taken",
                errors=[field_error("id", "already used by a different entry")],
            )
    await _check_links(session, principal, row)
    entry = DiaryEntry(id=entry_id or new_id(), author_id=principal.user_id, **row)
    session.add(entry)
    await session.flush()
    await session.refresh(entry)
    await record_change(session, ENTITY, entry.id, entry.area_id)
    if entry.resident_id:
        await residents.mark_visited(session, {entry.resident_id: entry.visited_at})
    return entry, True


get = repository.entries.one
"""A diary entry of the caller's area: 404 ``diary_entry_not_found``."""


async def update(session: AsyncSession, principal: Principal, entry: DiaryEntry, changes: dict[str, Any]) -> DiaryEntry:
    not_null(changes, ("area_id", "visited_at", "kind", "content", "tags", "status"))
    if changes.get("status") and entry.status == DiaryStatus.ESCALATED:
        raise Conflict("This entry was escalated into an issue; follow the issue instead.", code="entry_escalated")
    old_area = entry.area_id
    if "area_id" in changes:
        changes["area_id"] = (await grids.get_grid_in_scope(session, principal, changes["area_id"])).id
    merged = {c: getattr(entry, c) for c in repository.CONTENT_COLUMNS} | changes
    await _check_links(session, principal, merged)
    for key, value in changes.items():
        setattr(entry, key, str(value) if key in ("kind", "status") else value)
    await session.flush()
    await session.refresh(entry)
    if entry.area_id != old_area:
        await record_change(session, ENTITY, entry.id, old_area, Op.DELETE)
    await record_change(session, ENTITY, entry.id, entry.area_id)
    if entry.resident_id:
        await residents.mark_visited(session, {entry.resident_id: entry.visited_at})
    return entry


async def list_entries(
    session: AsyncSession, principal: Principal, *, filters: dict[str, Any], after: Sequence[Any] | None, limit: int
) -> Sequence[DiaryEntry]:
    filters["area_path"] = await grids.area_path(session, principal, filters.get("area_id"))
    return await repository.list_in_scope(session, principal, filters=filters, after=after, limit=limit)


# --- batch upload (离线批量上传) ---------------------------------------------------------------


def _invalid(index: int, entry_id: Any, code: str, errors: list[dict[str, Any]]) -> BatchItemResult:
    return BatchItemResult(index=index, id=entry_id, status="invalid", code=code, errors=errors)


async def batch_upload(session: AsyncSession, principal: Principal, items: list[Any]) -> list[BatchItemResult]:
    """Apply up to 500 entries; each gets its own verdict and one bad item never sinks the rest.

    Every item is validated before anything is written, so the writes that follow cannot fail
    per item: one SELECT of the existing ids (locked), one multi-row INSERT … ON CONFLICT DO NOTHING,
    one executemany UPDATE, one INSERT into the change feed.
    """
    results, parsed = batch.parse(items, DiaryBatchItem, max_items=MAX_BATCH, noun="entries", invalid=_invalid)

    area_of = {i: item.area_id or principal.area_id for i, item in parsed.items()}
    area_levels = await repository.area_levels_in_scope(session, principal, list(set(area_of.values())))
    households, found_residents = await residents.check_links(
        session,
        principal,
        household_ids=[p.household_id for p in parsed.values() if p.household_id],
        resident_ids=[p.resident_id for p in parsed.values() if p.resident_id],
    )
    rows: dict[int, dict[str, Any]] = {}
    for index, item in parsed.items():
        errors, codes = [], []
        level = area_levels.get(area_of[index])
        if level is None:
            errors.append(field_error("area_id", "unknown or outside your area"))
            codes.append("unknown_area")
        elif level not in GRID_LEVELS:
            errors.append(field_error("area_id", "must be a grid or micro-grid", allowed=sorted(GRID_LEVELS)))
            codes.append("not_a_grid")
        if item.household_id and item.household_id not in households:
            errors.append(field_error("household_id", "unknown or outside your area"))
            codes.append("unknown_household")
        if item.resident_id and item.resident_id not in found_residents:
            errors.append(field_error("resident_id", "unknown or outside your area"))
            codes.append("unknown_resident")
        if errors:
            # One fault: its own code, as for a single entry (unknown_area, not_a_grid, unknown_household,
            # unknown_resident); several: validation_failed.
            results[index] = _invalid(index, item.id, codes[0] if len(codes) == 1 else "validation_failed", errors)
        else:
            rows[index] = _normalised(item.model_dump(), area_of[index])

    existing = await repository.existing_for_batch(session, principal, [parsed[i].id for i in rows])
    inserts: dict[int, dict[str, Any]] = {}
    updates: dict[int, dict[str, Any]] = {}
    moved: list[tuple[str, uuid.UUID, uuid.UUID, Op]] = []
    for index, row in rows.items():
        item = parsed[index]
        found = existing.get(item.id)
        if found is None:
            inserts[index] = {"id": item.id, "author_id": principal.user_id, **row}
            continue
        entry, visible = found
        if not visible:
            results[index] = _invalid(index, item.id, "id_taken", [field_error("id", "already used")])
        elif _entry_content(entry) == _content(row):
            results[index] = BatchItemResult(index=index, id=item.id, status="unchanged", version=entry.version)
        elif item.base_version is not None and item.base_version == entry.version and entry.status != "escalated":
            updates[index] = {"b_id": item.id, "b_version": entry.version, **row}
            results[index] = BatchItemResult(index=index, id=item.id, status="updated", version=entry.version + 1)
            if entry.area_id != row["area_id"]:
                moved.append((ENTITY, entry.id, entry.area_id, Op.DELETE))
        else:
            results[index] = BatchItemResult(
                index=index,
                id=item.id,
                status="conflict",
                version=entry.version,
                code="version_conflict" if entry.status != "escalated" else "entry_escalated",
                current=DiaryOut.model_validate(entry),
            )

    inserted = await repository.insert_many(session, list(inserts.values()))
    for index, row in inserts.items():
        if row["id"] in inserted:
            results[index] = BatchItemResult(index=index, id=row["id"], status="created", version=1)
        else:
            results[index] = BatchItemResult(index=index, id=row["id"], status="conflict", code="created_concurrently")
    await repository.update_many(session, list(updates.values()))

    written = [inserts[i] for i in inserts if inserts[i]["id"] in inserted] + [
        {"id": u["b_id"], **u} for u in updates.values()
    ]
    await record_changes(session, [*moved, *((ENTITY, w["id"], w["area_id"], Op.UPSERT) for w in written)])
    visits: dict[uuid.UUID, dt.datetime] = {}
    for w in written:
        if w["resident_id"] and (w["resident_id"] not in visits or visits[w["resident_id"]] < w["visited_at"]):
            visits[w["resident_id"]] = w["visited_at"]
    await residents.mark_visited(session, visits)
    if updates:
        # Rows changed behind the ORM's back: drop stale copies from the identity map.
        session.expire_all()
    return [results[i] for i in range(len(items))]


# --- change feed ------------------------------------------------------------------------------


async def snapshots(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID], settings: Settings
) -> dict[uuid.UUID, dict[str, Any]]:
    return {
        e.id: DiaryOut.model_validate(e).model_dump(mode="json")
        for e in await repository.entries.by_ids(session, principal, ids)
    }


register_feed(Feed.of(DiaryEntry, "diary", ENTITY, DIARY_READERS, snapshots))


# --- escalation (转为诉求) ---------------------------------------------------------------------


async def escalate(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    entry_id: uuid.UUID,
    body: DiaryEscalate,
    if_match: str | None,
) -> tuple[DiaryEntry, Issue]:
    """An entry too big for the visit becomes an issue (channel ``diary``), linked both ways; when
    that issue is closed the entry becomes ``resolved`` (see :mod:`app.diary.reactions`)."""
    from app.issues import intake as issues
    from app.issues import schemas as issue_schemas

    entry = await repository.entries.one(session, principal, entry_id, for_update=True)
    write_if_match(entry, if_match, required=False)
    if entry.issue_id is not None:
        raise Conflict("This entry was already escalated.", code="entry_escalated", issue_id=str(entry.issue_id))
    if entry.status == DiaryStatus.RESOLVED:
        raise Conflict("A resolved entry cannot be escalated; write a new one.", code="entry_resolved")
    kind = body.kind or (IssueKind.COMPLAINT if entry.kind == "complaint" else IssueKind.HELP)
    details = "\n".join(x for x in (entry.content, entry.measures and f"已采取措施:{entry.measures}") if x)
    _, issue = await issues.prepare_issue(
        session,
        principal,
        settings,
        issue_schemas.IssueCreate(
            title=body.title or entry.content.strip().splitlines()[0][:60],
            description=details[:4000],
            kind=kind,
            category=body.category,
            channel=IssueChannel.DIARY,
            priority=body.priority,
            area_id=entry.area_id,
            occurred_at=entry.visited_at,
        ),
    )
    assert issue is not None
    issue.diary_entry_id = entry.id  # written with the issue, which starts linked at version 1
    await issues.insert_issue(session, principal, issue)
    entry.issue_id = issue.id
    entry.status = DiaryStatus.ESCALATED.value
    await session.flush()
    await session.refresh(entry)
    await record_change(session, ENTITY, entry.id, entry.area_id)
    return entry, issue
