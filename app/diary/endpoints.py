"""/api/v1/diary-entries — 民情日记."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, Header, Query, Response
from pydantic import Field

from app.auth.deps import require_roles
from app.config import SettingsDep
from app.db import SessionDep
from app.diary import service
from app.diary.models import DiaryKind, DiaryStatus
from app.diary.schemas import (
    MAX_BATCH,
    BatchOut,
    DiaryBatchItem,
    DiaryCreate,
    DiaryEscalate,
    DiaryEscalated,
    DiaryOut,
    DiaryUpdate,
)
from app.errors import problem_responses
from app.kit.etag import IfMatch, created
from app.kit.openapi import documented_body
from app.kit.routes import Versioned, checked, list_route, read_route, tally, update_route
from app.kit.routing import Router
from app.kit.schemas import QueryDatetime
from app.scope import Principal

router = Router(prefix="/api/v1/diary-entries", tags=["diary"], responses=problem_responses(403))
Reader = Annotated[Principal, Depends(require_roles(*sorted(service.DIARY_READERS)))]
Writer = Annotated[Principal, Depends(require_roles(*sorted(service.DIARY_WRITERS)))]
IDEMPOTENCY_NS = uuid.UUID("0b7f6f0e-4a51-4d0c-9d0e-6d696e71696e")


@router.post(
    "",
    status_code=201,
    response_model=DiaryOut,
    operation_id="diary_create",
    summary="Write a diary entry (写民情日记)",
    description="A 民情日记 entry from a visit or patrol, in a grid or micro-grid of your area (default: "
    "your home area). Phones send their own `id`: re-sending the same id with the same content answers 200 "
    "with the stored entry, a different content under that id is 409 `id_taken`. Without an `id`, an "
    "`Idempotency-Key` header makes retries safe the same way. Naming a `resident_id` records a visit.",
    responses={200: {"description": "already stored (same id, same content)"}, **problem_responses(409)},
)
async def create_entry(
    body: DiaryCreate,
    session: SessionDep,
    principal: Writer,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> DiaryOut:
    data = body.model_dump()
    if data["id"] is None and idempotency_key:
        data["id"] = uuid.uuid5(IDEMPOTENCY_NS, f"{principal.idempotency_owner}:{idempotency_key}")
    entry, is_new = await service.create(session, principal, data)
    response.status_code = 201 if is_new else 200
    return created(response, f"/api/v1/diary-entries/{entry.id}", DiaryOut.model_validate(entry), entry)


DiaryBatch = Annotated[list[DiaryBatchItem], Field(max_length=MAX_BATCH)]
BATCH_EXAMPLES = {
    "offline": {
        "summary": "a new entry and an edit of one already uploaded",
        "value": [
            {
                "id": "0193f0c2-5b6e-7c41-9a2d-3e8f1b7c4d5a",
                "visited_at": "2026-11-23T09:30:00+08:00",
                "kind": "situation",
                "content": "3号楼王大爷反映楼道灯不亮",
            },
            {
                "id": "0193f0c2-6a1d-7e2f-8b3c-4d5e6f7a8b9c",
                "base_version": 2,
                "visited_at": "2026-11-22T15:00:00+08:00",
                "kind": "complaint",
                "content": "小区东门积水",
                "result": "已联系物业疏通",
                "status": "resolved",
            },
        ],
    }
}


@router.post(
    "/batch",
    response_model=BatchOut,
    operation_id="diary_batch",
    summary="Upload diary entries in a batch (民情日记批量上传)",
    description=f"A JSON array of up to {MAX_BATCH} entries written offline, each with a client-generated "
    "`id` and, to change an entry already uploaded, the `base_version` it was edited from. Each item gets "
    "its own verdict in `results` (same order): `created`; `unchanged` (same id, same content — re-sending "
    "a batch is safe); `updated` (base_version was current; version + 1); `conflict` (base_version stale or "
    "missing; `current` holds the server's entry to merge); `invalid` (with field `errors`; `code` "
    "`unknown_area`, `not_a_grid`, `unknown_household` or `unknown_resident` for a single fault, as a single "
    "entry would get, else `validation_failed`). Valid items are "
    f"stored even when others are invalid. More than {MAX_BATCH} items: 422 `batch_too_large`.",
    openapi_extra=documented_body(DiaryBatch, name="DiaryBatch", examples=BATCH_EXAMPLES),
)
async def batch_upload(
    session: SessionDep,
    principal: Writer,
    items: Annotated[list[Any], Body()],
) -> BatchOut:
    results = await service.batch_upload(session, principal, items)
    return BatchOut(results=results, counts=tally(results, ("created", "updated", "unchanged", "conflict", "invalid")))


list_route(
    router,
    "",
    DiaryOut,
    Reader,
    "diary",
    service.list_entries,
    filters={
        "area_id": uuid.UUID | None,
        "status": DiaryStatus | None,
        "kind": DiaryKind | None,
        "author_id": uuid.UUID | None,
        "resident_id": uuid.UUID | None,
        "visited_from": QueryDatetime | None,
        "visited_to": QueryDatetime | None,
        "updated_since": QueryDatetime | None,
        "q": Annotated[str | None, Query(max_length=100)],
    },
    out=DiaryOut.model_validate,
    operation_id="diary_list",
    summary="Diary entries in your area (民情日记列表)",
    description="Newest first. Filters: `area_id` (its subtree), `status`, `kind`, `author_id`, "
    "`resident_id`, `visited_from`/`visited_to`, `updated_since`, `q` (text in content, measures, result).",
)


ENTRY = Versioned("entry_id", DiaryOut, get=service.get, change=checked(service.get, required=True))
read_route(
    router,
    "/{entry_id}",
    ENTRY,
    Reader,
    conditional=True,
    operation_id="diary_get",
    summary="A diary entry (民情日记详情)",
    description="404 when outside your area.",
)


update_route(
    router,
    "/{entry_id}",
    ENTRY,
    Writer,
    lambda call, entry, body: service.update(call.session, call.principal, entry, body.model_dump(exclude_unset=True)),
    body=DiaryUpdate,
    operation_id="diary_update",
    summary="Edit a diary entry (修改民情日记)",
    description="Requires `If-Match` (428 without, 412 when stale). `status` may move between open, "
    "answered and resolved; `escalated` is set only by escalating into an issue.",
)


@router.post(
    "/{entry_id}/escalate",
    status_code=201,
    response_model=DiaryEscalated,
    operation_id="diary_escalate",
    summary="Escalate an entry into an issue (民情日记转诉求工单)",
    description="Creates an issue (channel `diary`) in the entry's grid and links both ways: the entry "
    "becomes `escalated` with `issue_id`, the issue carries `diary_entry_id`. When the issue is closed the "
    "entry becomes `resolved`; if the issue is reopened (重办) it goes back to `escalated`. `If-Match` is "
    "checked when sent. An entry already escalated: 409 `entry_escalated` with its `issue_id`.",
    responses=problem_responses(404, 409, 412),
)
async def escalate_entry(
    entry_id: uuid.UUID,
    body: DiaryEscalate,
    session: SessionDep,
    principal: Writer,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> DiaryEscalated:
    entry, issue = await service.escalate(session, principal, settings, entry_id, body, if_match)
    out = DiaryEscalated(entry=DiaryOut.model_validate(entry), issue_id=issue.id, issue_number=issue.number)
    return created(response, f"/api/v1/issues/{issue.id}", out, entry)
