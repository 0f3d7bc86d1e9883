"""/api/v1/commitment-lists, -items, -activities, -stats — 一年10件实事; the public notice (公示)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from fastapi import Body, Depends, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import Field

from app.auth.deps import require_roles
from app.commitments import page, photos, public, service, transfer
from app.commitments.schemas import (
    ActivityBatchItem,
    ActivityBatchOut,
    ActivityIn,
    ActivityOut,
    ActivityPhotoOut,
    CommitmentFeedbackResult,
    CommitmentItemOut,
    EvaluationIn,
    FeedbackIn,
    FeedbackLinksIn,
    FeedbackLinksOut,
    ItemIn,
    ItemPatch,
    ListCreate,
    ListDetail,
    ListOut,
    MilestoneDoneIn,
    ReasonIn,
)
from app.commitments.workflow import Action, ListStatus
from app.config import SettingsDep
from app.db import ReadSessionDep, SessionDep
from app.errors import NotFound, problem_responses
from app.grids.models import Area
from app.issues import files
from app.kit.etag import accepts_gzip, etag_of, not_modified
from app.kit.openapi import documented_body
from app.kit.ratelimit import rate_limit
from app.kit.routes import Call, Versioned, change_route, create_route, list_route, read_route, tally
from app.kit.routing import Router
from app.kit.storage import StorageDep
from app.scope import Principal

lists_router = Router(prefix="/api/v1/commitment-lists", tags=["commitments"], responses=problem_responses(403))
items_router = Router(prefix="/api/v1/commitment-items", tags=["commitments"], responses=problem_responses(403))
activities_router = Router(
    prefix="/api/v1/commitment-activities", tags=["commitments"], responses=problem_responses(403)
)
stats_router = Router(prefix="/api/v1/commitment-stats", tags=["commitments"], responses=problem_responses(403))
public_router = Router(prefix="/api/v1/public/commitments", tags=["public"])
feedback_router = Router(prefix="/api/v1/commitment-feedback", tags=["public"])
page_router = Router(tags=["public"])

Reader = Annotated[Principal, Depends(require_roles(*sorted(service.READERS)))]
Recorder = Annotated[Principal, Depends(require_roles(*sorted(service.RECORDERS)))]
Manager = Annotated[Principal, Depends(require_roles(*sorted(service.MANAGERS)))]
Approver = Annotated[Principal, Depends(require_roles(*sorted(service.APPROVERS)))]
YearQuery = Annotated[int | None, Query(ge=2000, le=2999, description="default: this year (local time)")]
ACTION_ERRORS = problem_responses(404, 409, 412, 422)


async def _answer(response: Response, session: Any, row: Any, settings: Any) -> ListDetail:
    response.headers["ETag"] = etag_of(row.version)
    return await service.detail(session, row, settings)


# --- lists ---------------------------------------------------------------------------------------


LIST = Versioned(
    "list_id",
    ListDetail,
    get=service.get_list,
    change=service.get_for_change,
    show=lambda call, row: service.detail(call.session, row, call.settings),
)
create_route(
    lists_router,
    "",
    LIST,
    Manager,
    lambda call, body: service.create_list(call.session, call.principal, body.model_dump(), call.settings),
    body=ListCreate,
    operation_id="commitment_lists_create",
    summary="Draw up a community's annual list (一年10件实事)",
    description="A community's list for a year, in `draft`, optionally with its items (at most the "
    "configured number, 10 by default). Each item: class (`governance` 小区治理类, `care` 帮扶关爱类, "
    "`service` 服务活动类), title, description, responsible person or unit, budget in yuan and a target: "
    "a recurring `schedule` (`monthly` on a day, `quarterly`, `at_least` N a year, `season` N times "
    "between two days, `range` between N and M a year) and/or one-off `milestones`. 409 "
    "`commitment_list_exists` when the community has one for the year. Community and street administrators.",
    responses=problem_responses(409, 422),
)


@lists_router.post(
    "/import",
    status_code=201,
    response_model=ListDetail,
    operation_id="commitment_lists_import",
    summary="Import a community's list from CSV or XLSX (导入实事清单)",
    description="A header row, then one row per item: 类别 (小区治理类 · 帮扶关爱类 · 服务活动类), 事项, 内容, "
    "责任人, 预算 (元, or 100万), 目标 (e.g. 每月10日, 每季度, 全年不少于5次; empty: read from 内容). Creates "
    "the `draft` list of `area_id` for `year`; all or nothing: 422 `import_invalid` lists every row's errors "
    "(`rows.<n>.<column>`, n counting the header as row 1).",
    responses=problem_responses(409, 422),
)
async def import_list(
    session: SessionDep,
    principal: Manager,
    settings: SettingsDep,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX")],
    year: Annotated[int, Query(ge=2000, le=2999)],
    area_id: uuid.UUID | None = None,
) -> Any:
    data = await file.read(settings.max_upload_bytes + 1)
    rows = await anyio.to_thread.run_sync(transfer.read_rows, data, file.filename)
    items = transfer.items_from_rows(rows, settings.commitments_per_list)
    row = await service.create_list(session, principal, {"area_id": area_id, "year": year, "items": items}, settings)
    response.headers["Location"] = f"/api/v1/commitment-lists/{row.id}"
    return await _answer(response, session, row, settings)


@lists_router.get(
    "/{list_id}/export.xlsx",
    operation_id="commitment_lists_export_xlsx",
    summary="Export a list's progress as Excel (导出实事进度)",
    description="Each item's class, budget, planned / due / done occurrences, completion, progress and ratings.",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
        **problem_responses(404),
    },
)
async def export_xlsx(list_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep) -> Response:
    row = await service.get_list(session, principal, list_id)
    detail, items = await service.detail_and_items(session, row, settings)
    summary = public.summarize(items, service.today(settings))
    body = await anyio.to_thread.run_sync(transfer.progress_xlsx, detail, summary)
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="commitments-{row.year}.xlsx"'},
    )


list_route(
    lists_router,
    "",
    ListOut,
    Reader,
    "commitment_lists",
    service.list_lists,
    filters={
        "area_id": uuid.UUID | None,
        "year": Annotated[int | None, Query(ge=2000, le=2999)],
        "status": ListStatus | None,
    },
    outs=lambda call, rows: service.outs(call.session, rows),
    operation_id="commitment_lists_list",
    summary="Annual commitment lists in your area",
    description="Newest first. Grid workers see their community's lists. Filters: `area_id` (a subtree), "
    "`year`, `status`.",
    responses=problem_responses(422),
)


read_route(
    lists_router,
    "/{list_id}",
    LIST,
    Reader,
    operation_id="commitment_lists_get",
    summary="A list with its items' progress and ratings",
    description="Each item's `progress`: occurrences `expected` by today (local time) against `done`, "
    "`on_track` / `behind` / `done` and the completion `percent`. The `ETag` is the list's version, for "
    "`If-Match` on changes (progress moves at local midnight without a new version, so it is not offered "
    "for `If-None-Match`). 404 outside your area.",
)


change_route(
    lists_router,
    "/{list_id}/items",
    LIST,
    Manager,
    lambda call, row, body: service.add_item(call.session, call.principal, row, body.model_dump(), call.settings),
    body=ItemIn,
    status_code=201,
    operation_id="commitment_lists_add_item",
    summary="Add an item to a draft or returned list",
    description="422 `too_many_commitments` past the configured number of items.",
    responses=ACTION_ERRORS,
)


change_route(
    lists_router,
    "/{list_id}/items/{item_id}",
    LIST,
    Manager,
    lambda call, row, body, item_id: service.patch_item(
        call.session, call.principal, row, item_id, body.model_dump(exclude_unset=True)
    ),
    ids=("item_id",),
    body=ItemPatch,
    method="patch",
    operation_id="commitment_lists_patch_item",
    summary="Change an item of a draft or returned list",
    description="Fields given replace the item's; `If-Match` is the list's ETag.",
    responses=ACTION_ERRORS,
)
change_route(
    lists_router,
    "/{list_id}/items/{item_id}",
    LIST,
    Manager,
    lambda call, row, _, item_id: service.delete_item(call.session, row, item_id),
    ids=("item_id",),
    method="delete",
    operation_id="commitment_lists_delete_item",
    summary="Remove an item from a draft or returned list",
    description="The items after it move up one place.",
    responses=ACTION_ERRORS,
)


def _transition(action: Action) -> Callable[[Call, Any, Any], Awaitable[Any]]:
    """The act of a workflow route: ``action`` on the list (a return with the body's reason)."""
    return lambda call, row, body: service.transition(
        call.session, call.principal, row, action, body.reason if body is not None else None
    )


change_route(
    lists_router,
    "/{list_id}/submit",
    LIST,
    Manager,
    _transition(Action.SUBMIT),
    operation_id="commitment_lists_submit",
    summary="Submit the list to the street for approval (报镇街党(工)委审核)",
    description="From `draft` or `returned`; a list needs at least one item (409 `commitment_list_empty`).",
    responses=ACTION_ERRORS,
)
change_route(
    lists_router,
    "/{list_id}/approve",
    LIST,
    Approver,
    _transition(Action.APPROVE),
    operation_id="commitment_lists_approve",
    summary="Approve a submitted list (镇街审核通过)",
    description="Street administrators and administrators. Audited.",
    responses=ACTION_ERRORS,
)
change_route(
    lists_router,
    "/{list_id}/return",
    LIST,
    Approver,
    _transition(Action.RETURN),
    body=ReasonIn,
    operation_id="commitment_lists_return",
    summary="Return a submitted list with reasons (退回修改)",
    description="Street administrators and administrators; the `reason` is kept on the list and audited.",
    responses=ACTION_ERRORS,
)
change_route(
    lists_router,
    "/{list_id}/publish",
    LIST,
    Manager,
    _transition(Action.PUBLISH),
    operation_id="commitment_lists_publish",
    summary="Publish an approved list (公示)",
    description="From now on on the public notice; emits `commitment_list.published`.",
    responses=ACTION_ERRORS,
)
change_route(
    lists_router,
    "/{list_id}/close",
    LIST,
    Manager,
    _transition(Action.CLOSE),
    operation_id="commitment_lists_close",
    summary="Close the year (年终结账)",
    description="Evaluations (民事民评) are still taken on a closed list; activities no more.",
    responses=ACTION_ERRORS,
)


# --- items: milestones and evaluations -----------------------------------------------------------


@items_router.get(
    "/{item_id}",
    response_model=CommitmentItemOut,
    operation_id="commitment_items_get",
    summary="One commitment with its progress and ratings",
    responses=problem_responses(404),
)
async def get_item(item_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep) -> Any:
    item, _ = await service.get_item(session, principal, item_id)
    return await service.item_answer(session, item, settings)


@items_router.post(
    "/{item_id}/milestones/{number}/done",
    response_model=CommitmentItemOut,
    operation_id="commitment_items_milestone_done",
    summary="Mark a milestone done (节点完成)",
    description="`number` counts the item's milestones from 1. On approved and published lists.",
    responses=ACTION_ERRORS,
)
async def milestone_done(
    item_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=24)],
    body: MilestoneDoneIn,
    session: SessionDep,
    principal: Recorder,
    settings: SettingsDep,
) -> Any:
    item, owner = await service.get_item(session, principal, item_id, write=True)
    item = await service.milestone_done(session, item, owner, number, body.done_on)
    return await service.item_answer(session, item, settings)


@items_router.post(
    "/{item_id}/evaluations",
    status_code=201,
    response_model=CommitmentItemOut,
    operation_id="commitment_items_evaluate",
    summary="Enter a resident's evaluation (民事民评, staff-entered)",
    description="满意 / 基本满意 / 不满意, the same shape as an issue's evaluation. On published and closed lists.",
    responses=ACTION_ERRORS,
)
async def evaluate(
    item_id: uuid.UUID, body: EvaluationIn, session: SessionDep, principal: Recorder, settings: SettingsDep
) -> Any:
    item, owner = await service.get_item(session, principal, item_id, write=True)
    item = await service.evaluate(session, principal, item, owner, body.model_dump())
    return await service.item_answer(session, item, settings)


@items_router.post(
    "/{item_id}/evaluation-links",
    status_code=201,
    response_model=FeedbackLinksOut,
    operation_id="commitment_items_evaluation_links",
    summary="One-time evaluation links for residents (民事民评链接)",
    description="Each link takes one rating, for 60 days, while the list is published or closed; "
    "the links are shown only here.",
    responses=ACTION_ERRORS,
)
async def evaluation_links(
    item_id: uuid.UUID, body: FeedbackLinksIn, session: SessionDep, principal: Manager
) -> FeedbackLinksOut:
    item, owner = await service.get_item(session, principal, item_id)
    urls, expires = await service.feedback_links(session, item, owner, body.count)
    return FeedbackLinksOut(urls=urls, expires_at=expires)


@feedback_router.post(
    "/{token}",
    dependencies=[Depends(rate_limit("commitment_feedback", "rate_limit_public_writes", 60))],
    response_model=CommitmentFeedbackResult,
    operation_id="commitment_feedback_submit",
    summary="Rate a commitment (居民评议, one-time link)",
    description="No login. 满意 / 基本满意 / 不满意; the link works once (410 `feedback_used`) until it "
    "expires (410 `feedback_expired`). Rate-limited per client address (429 with `Retry-After`).",
    responses=problem_responses(404, 410, 422, 429),
)
async def submit_feedback(
    token: Annotated[str, Path(min_length=10, max_length=100)], body: FeedbackIn, session: SessionDep
) -> CommitmentFeedbackResult:
    await service.submit_feedback(session, token, body.model_dump())
    return CommitmentFeedbackResult(accepted=True)


# --- activities (民事民办) ------------------------------------------------------------------------


@activities_router.post(
    "",
    status_code=201,
    response_model=ActivityOut,
    operation_id="commitment_activities_create",
    summary="Record an activity done for one or more commitments (民事民办)",
    description="Date and time, place, participants, volunteers, notes; the items it serves (of one "
    "community, on an approved or published list). It counts towards each item's schedule when it falls "
    "in the item's year (local time; 422 `activity_outside_year` otherwise) and, for a `season`, in its "
    "window. A client-generated `id` makes a resend safe: the same id answers the activity recorded then "
    "(200).",
    responses={**ACTION_ERRORS, 200: {"description": "resent: the activity recorded before", "model": ActivityOut}},
)
async def record_activity(
    body: ActivityIn, session: SessionDep, principal: Recorder, settings: SettingsDep, response: Response
) -> Any:
    activity, created = await service.record_activity(session, principal, body.model_dump(), settings)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/commitment-activities?item_id={body.item_ids[0]}"
    (out,) = await service.activity_outs(session, [activity])
    return out


ActivityBatch = Annotated[list[ActivityBatchItem], Field(max_length=service.MAX_BATCH)]
BATCH_EXAMPLES = {
    "offline": {
        "summary": "two activities recorded on a phone without signal",
        "value": [
            {
                "id": "0193f0c2-5b6e-7c41-9a2d-3e8f1b7c4d5a",
                "item_ids": ["0193f0c2-1111-7c41-9a2d-3e8f1b7c4d5a"],
                "held_at": "2026-03-10T09:00:00+08:00",
                "place": "社区广场",
                "participants": 30,
                "volunteers": 5,
            },
            {
                "id": "0193f0c2-6a1d-7e2f-8b3c-4d5e6f7a8b9c",
                "item_ids": ["0193f0c2-2222-7c41-9a2d-3e8f1b7c4d5a"],
                "held_at": "2026-03-12T15:00:00+08:00",
                "place": "3号楼",
                "notes": "入户走访独居老人",
            },
        ],
    }
}


@activities_router.post(
    "/batch",
    response_model=ActivityBatchOut,
    operation_id="commitment_activities_batch",
    summary="Upload activities recorded offline (民事民办批量上传)",
    description=f"A JSON array of up to {service.MAX_BATCH} activities recorded offline, each with a "
    "client-generated `id`. Each item gets its own verdict in `results` (same order) and is stored whole or "
    "not at all: `created`; `unchanged` (the same id with the same content — re-sending a batch is safe); "
    "`conflict` (`id_taken`: the id holds another activity of yours, shown in `current`; an activity is not "
    "edited); `invalid` (with `code` and `errors` as the single route answers, e.g. `unknown_commitment_item`, "
    "`activity_outside_year`). Valid items are stored even when others are invalid. Recorded activities "
    "appear in the change feed (`types=commitment_activities`) of everyone who reads the community's "
    f"commitments. More than {service.MAX_BATCH} items: 422 `batch_too_large`.",
    openapi_extra=documented_body(ActivityBatch, name="CommitmentActivityBatch", examples=BATCH_EXAMPLES),
)
async def batch_activities(
    session: SessionDep, principal: Recorder, settings: SettingsDep, items: Annotated[list[Any], Body()]
) -> ActivityBatchOut:
    results = await service.batch_activities(session, principal, items, settings)
    return ActivityBatchOut(results=results, counts=tally(results, ("created", "unchanged", "conflict", "invalid")))


list_route(
    activities_router,
    "",
    ActivityOut,
    Reader,
    "commitment_activities",
    service.list_activities,
    filters={"item_id": uuid.UUID | None, "area_id": uuid.UUID | None},
    outs=lambda call, rows: service.activity_outs(call.session, rows),
    key=lambda r: [r.held_at, r.id],
    operation_id="commitment_activities_list",
    summary="Activities recorded in your area",
    description="Latest first. Filters: `item_id`, `area_id`.",
    responses=problem_responses(422),
)


@activities_router.post(
    "/{activity_id}/photos",
    status_code=201,
    response_model=ActivityPhotoOut,
    operation_id="commitment_activities_add_photo",
    summary="Add a photo of an activity (上传活动照片)",
    description="Multipart `file`: JPEG, PNG, WebP or PDF, recognised by its content (415 otherwise), streamed "
    "into the attachments storage up to the server's upload limit (413). Whoever records activities for the "
    "activity's community. 404 outside your area.",
    responses=problem_responses(404, 413, 415, 422),
)
async def add_photo(
    activity_id: uuid.UUID,
    session: SessionDep,
    principal: Recorder,
    settings: SettingsDep,
    storage: StorageDep,
    response: Response,
    file: Annotated[UploadFile, File(description="the photo")],
) -> Any:
    row = await photos.add(
        session, principal, settings, storage, activity_id, chunks=files.chunks_of(file), filename=file.filename
    )
    response.headers["Location"] = f"/api/v1/commitment-activities/{activity_id}/photos/{row.id}"
    return ActivityPhotoOut.model_validate(row)


@activities_router.get(
    "/{activity_id}/photos",
    response_model=list[ActivityPhotoOut],
    operation_id="commitment_activities_photos",
    summary="Photos of an activity (活动照片列表)",
    description="Their metadata, oldest first. 404 outside your area.",
    responses=problem_responses(404),
)
async def list_photos(activity_id: uuid.UUID, session: SessionDep, principal: Reader) -> Any:
    activity = await photos.activity_in_scope(session, principal, activity_id)
    return [ActivityPhotoOut.model_validate(p) for p in await photos.of_activity(session, activity.id)]


@activities_router.get(
    "/{activity_id}/photos/{photo_id}",
    operation_id="commitment_activities_photo_download",
    summary="Download a photo of an activity (下载活动照片)",
    description="The file itself, with its sniffed content type; where the server is set to, a 307 to a "
    "short-lived signed URL of the object store instead.",
    response_class=FileResponse,
    responses={
        **problem_responses(404),
        307: {"description": "the file at a signed URL of the object store, valid for a short time"},
    },
)
async def download_photo(
    activity_id: uuid.UUID,
    photo_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    storage: StorageDep,
) -> Response:
    activity = await photos.activity_in_scope(session, principal, activity_id)
    row = await photos.one(session, activity.id, photo_id)
    key = files.key_of(activity.id, row.id)
    return await files.download(
        storage, settings, key, content_type=row.content_type, filename=row.filename, thing="photo"
    )


# --- stats and the public notice (公示) -----------------------------------------------------------


@stats_router.get(
    "",
    response_model=public.PublicNotice,
    operation_id="commitment_stats",
    summary="Commitments per community, street and district, ranked",
    description="Over the published and closed lists of `area_id` (default your home area) for `year`: "
    "items published / on track / behind / done / rated and satisfaction, with numerators and "
    "denominators, per community (ranked), per street and in total.",
    responses=problem_responses(422),
)
async def stats(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    year: YearQuery = None,
) -> Any:
    from app.grids import service as grids

    area = await grids.get_in_scope(session, principal, area_id or principal.area_id, field="area_id")
    on = service.today(settings)
    return await public.notice(session, area, year or on.year, on)


async def _public_area(session: Any, area_id: uuid.UUID) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFound("No such area.", code="area_not_found")
    return area


def _as_json(notice: public.PublicNotice) -> bytes:
    return notice.model_dump_json().encode()


def _as_page(notice: public.PublicNotice) -> bytes:
    return page.render(notice).encode()


async def _render(
    session: Any, area_id: uuid.UUID, year: int, on: dt.date, kind: str, render: Any
) -> tuple[str, bytes]:
    """A notice built on ``session``, kept under the ETag of what ``session`` sees (a replica may be
    behind the pool the first ETag came from: the body and its tag always agree)."""
    tag = await public.etag(session, area_id, year, on, kind)
    if tag is None:
        raise NotFound("No such area.", code="area_not_found")
    body = public.rendered(tag)
    if body is None:
        notice = await public.notice(session, await _public_area(session, area_id), year, on)
        body = public.keep(tag, render(notice))
    return tag, body


async def _public_tag(request: Request, area_id: uuid.UUID, year: int, on: dt.date, kind: str) -> str:
    """The notice's ETag: kept by this process since the last change (``app.state.public_tags``),
    else one statement on the hot-read pool, no transaction; 404 ``area_not_found`` for an unknown
    area. A notice kept under it is answered without the session."""
    kept: public.KeptTags = request.app.state.public_tags
    key = (area_id, year, on, kind)
    tag = kept.get(key)
    if tag is not None:
        return tag
    generation = kept.generation
    tag = await public.etag(request.app.state.read_pool, area_id, year, on, kind)
    if tag is None:
        raise NotFound("No such area.", code="area_not_found")
    kept.put(key, tag, generation, request.app.state.settings.public_notice_tag_seconds)
    return tag


_MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8"}


async def _public_answer(
    request: Request,
    session: Any,
    area_id: uuid.UUID,
    year: int,
    on: dt.date,
    tag: str,
    kind: str,
    render: Any,
    extra: dict[str, str],
) -> Response:
    """304 when the client holds this notice, else the kept notice (rendered once per change),
    gzipped when the client takes it — a representation of its own, with its own ETag."""
    packed = accepts_gzip(request)
    variant = (lambda t: t[:-1] + '-gzip"') if packed else (lambda t: t)
    headers = {"ETag": variant(tag), "Cache-Control": "public, max-age=60", "Vary": "Accept-Encoding", **extra}
    if not_modified(request, variant(tag)):
        return Response(status_code=304, headers=headers)
    body = public.rendered(tag)
    if body is None:
        tag, body = await _render(session, area_id, year, on, kind, render)
        headers["ETag"] = variant(tag)
    if packed:
        body = public.gzipped(tag, body)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=_MEDIA[kind], headers=headers)


@public_router.get(
    "/{area_id}",
    dependencies=[Depends(rate_limit("public_commitments", "rate_limit_public_reads", 60))],
    response_model=public.PublicNotice,
    operation_id="public_commitments",
    summary="The public notice of commitments (一年10件实事公示), live",
    description="No login. A community's published list, or every community's under a street or "
    "district, each item with its progress and rating; no personal data. `ETag` / `If-None-Match` (304).",
    responses={**problem_responses(404, 422, 429), 304: {"description": "Not modified"}},
)
async def public_notice(
    area_id: uuid.UUID,
    session: ReadSessionDep,
    settings: SettingsDep,
    request: Request,
    year: YearQuery = None,
) -> Any:
    on = service.today(settings)
    tag = await _public_tag(request, area_id, year or on.year, on, "json")
    return await _public_answer(request, session, area_id, year or on.year, on, tag, "json", _as_json, {})


@page_router.get(
    "/public/commitments/{area_id}",
    include_in_schema=False,
    dependencies=[Depends(rate_limit("public_commitments", "rate_limit_public_reads", 60))],
)
async def public_page(
    area_id: uuid.UUID,
    session: ReadSessionDep,
    settings: SettingsDep,
    request: Request,
    year: YearQuery = None,
) -> Response:
    """The same notice as a self-contained HTML page (no script, no external resources)."""
    on = service.today(settings)
    tag = await _public_tag(request, area_id, year or on.year, on, "html")
    return await _public_answer(request, session, area_id, year or on.year, on, tag, "html", _as_page, page.HEADERS)
