"""/api/v1/issues — the closed loop (诉求闭环) from report to the resident's rating."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Body, Depends, File, Form, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

from app.auth.deps import CredentialsDep, SettingsDep, principal_for, require_roles
from app.auth.roles import Role
from app.db import ReadSessionDep, SessionDep, request_session
from app.errors import NotFound, ValidationFailed, field_error, problem_responses
from app.grids import service as grids
from app.issues import export, files, repository, schemas, service
from app.issues.sla import SlaState
from app.issues.workflow import Action, Channel, Kind, Priority, Status, Tier
from app.kit import clock, idempotency
from app.kit.etag import etag_of, not_modified
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.ratelimit import rate_limit
from app.kit.routing import Router
from app.kit.schemas import Page, QueryDatetime
from app.kit.tokens import BIGINT
from app.scope import Principal

router = Router(prefix="/api/v1/issues", tags=["issues"])
config_router = Router(prefix="/api/v1", tags=["issues"])
public_router = Router(prefix="/api/v1/feedback", tags=["feedback"])

_R = Role
CREATORS = (_R.GRID_WORKER, _R.COMMUNITY_ADMIN, _R.STREET_ADMIN, _R.ADMIN, _R.INTEGRATION)
READERS = (
    _R.GRID_WORKER,
    _R.MEDIATOR,
    _R.COMMUNITY_ADMIN,
    _R.STREET_ADMIN,
    _R.DEPARTMENT,
    _R.ADMIN,
    _R.INTEGRATION,
)
ACTORS = (_R.GRID_WORKER, _R.COMMUNITY_ADMIN, _R.STREET_ADMIN, _R.DEPARTMENT, _R.ADMIN)
EDITORS = (_R.GRID_WORKER, _R.COMMUNITY_ADMIN, _R.STREET_ADMIN, _R.ADMIN)
MANAGERS = (_R.COMMUNITY_ADMIN, _R.STREET_ADMIN, _R.ADMIN)

Creator = Annotated[Principal, Depends(require_roles(*CREATORS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
READER_ROLES = frozenset(READERS)
Actor = Annotated[Principal, Depends(require_roles(*ACTORS))]
Editor = Annotated[Principal, Depends(require_roles(*EDITORS))]
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
Admin = Annotated[Principal, Depends(require_roles(_R.ADMIN))]
AnyStaff = Annotated[Principal, Depends(require_roles(*Role))]
IssueId = Annotated[uuid.UUID, Path(description="issue id")]


def _json(model: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


# --- create, read, edit -------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=schemas.IssueDetail,
    operation_id="issues_create",
    summary="Report an issue (上报诉求)",
    description="Files a resident's request. The area is `area_id` (in your jurisdiction), else the "
    "deepest grid or micro-grid whose boundary holds `location` (422 `location_outside_scope` when "
    "none in your jurisdiction does), else your home area. The issue starts `reported` at the tier of "
    "its area, with a number like `T01-20261123-000123` (area prefix, local date, daily sequence) and "
    "respond / resolve deadlines from the SLA policy. Phones may mint `id` offline. " + idempotency.POLICY_DOC,
    responses=problem_responses(403, 409, 422),
)
async def create_issue(
    request: Request,
    body: schemas.IssueCreate,
    session: SessionDep,
    principal: Creator,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", description=idempotency.POLICY_DOC)] = None,
) -> Response:
    pending = await idempotency.pending(request, principal.idempotency_owner, idempotency_key)
    claim, issue = await service.prepare_issue(session, principal, settings, body, idempotency_key=pending)
    if claim is not None and claim.replay is not None:
        return claim.replay
    assert issue is not None
    out = service.to_out(issue, principal, clock.now(), schemas.IssueDetail)  # no co-reporters yet: no query
    response = _json(out, 201, {"Location": f"/api/v1/issues/{issue.id}", "ETag": etag_of(issue.version)})
    # The response is stored under the key in the same statement that writes the issue.
    await service.insert_issue(session, principal, issue, completing=(claim, response))
    return response


async def _filters(
    status: Annotated[list[Status] | None, Query(description="one or more statuses")] = None,
    kind: Kind | None = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    channel: Channel | None = None,
    tier: Tier | None = None,
    priority: Priority | None = None,
    sla_state: Annotated[
        SlaState | None, Query(description="on_track / due_soon (last 20 % of the window) / overdue")
    ] = None,
    assignee_user_id: uuid.UUID | None = None,
    assignee_unit_id: uuid.UUID | None = None,
    created_from: Annotated[QueryDatetime | None, Query(description="inclusive")] = None,
    created_to: Annotated[QueryDatetime | None, Query(description="exclusive")] = None,
    updated_since: Annotated[
        QueryDatetime | None, Query(description="changed at or after; the list is then ordered by updated_at, id")
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="substring of title or description (Chinese works)"),
    ] = None,
) -> repository.IssueFilters:
    for name, value in (("created_from", created_from), ("created_to", created_to), ("updated_since", updated_since)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                f"{name} needs a UTC offset.", errors=[field_error(name, "must include a UTC offset (RFC 3339)")]
            )
    return repository.IssueFilters(
        status=[s.value for s in status or []],
        kind=kind,
        category=category,
        channel=channel,
        tier=tier,
        priority=priority,
        sla_state=sla_state,
        assignee_user_id=assignee_user_id,
        assignee_unit_id=assignee_unit_id,
        created_from=created_from,
        created_to=created_to,
        updated_since=updated_since,
        q=q,
    )


Filters = Annotated[repository.IssueFilters, Depends(_filters)]
AreaFilter = Annotated[uuid.UUID | None, Query(description="an area in your jurisdiction; its whole subtree")]


async def _reader_and_area(
    request: Request, session: ReadSessionDep, creds: CredentialsDep, area_id: AreaFilter = None
) -> tuple[Principal, str | None]:
    """The caller admitted as a reader and the path of ``area_id`` in their jurisdiction: one
    statement for a bearer token. A dependency, so the caller is authenticated before the filters
    are validated."""
    if creds.user_id is not None:
        return await grids.caller_and_area(session, creds.user_id, area_id, READER_ROLES, field="area_id")
    principal = await principal_for(request, session, creds, READER_ROLES)
    area = await grids.get_in_scope(session, principal, area_id, field="area_id") if area_id else None
    return principal, area.path if area else None


ReaderAndArea = Annotated[tuple[Principal, str | None], Depends(_reader_and_area)]


@router.get(
    "",
    response_model=Page[schemas.IssueOut],
    operation_id="issues_list",
    summary="List issues (诉求列表)",
    description="Issues in your jurisdiction (departments: those assigned to their unit), newest first "
    "(`created_at`, `id`); with `updated_since`, oldest change first (`updated_at`, `id`) for sync. "
    "Keyset pagination: `limit` (≤ 200, default 50), `cursor` → `next_cursor`. `q` is a substring "
    "match (ILIKE) on title and description served by a pg_trgm index, so it works on Chinese text. "
    "Reporter name and phone are masked.",
    responses=problem_responses(403, 422),
)
async def list_issues(
    session: ReadSessionDep,
    reader: ReaderAndArea,
    f: Filters,
    settings: SettingsDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    # Two round trips for a bearer token: the caller with the area, then the page.
    principal, f.area_path = reader
    now = clock.now()
    by_update = f.updated_since is not None
    keys = Keyset.open(settings, principal, "issues", cursor, within=["updated" if by_update else "created"])
    rows = await repository.list_page(session, principal, f, after=keys.after, limit=limit, now=now)
    items, next_cursor = keys.page(rows, limit, lambda i: [i.updated_at if by_update else i.created_at, i.id])
    names = list(rows[0]._fields) if rows else []
    columns = [dict(zip(names, row, strict=True)) for row in items]  # by name: cheaper than a row's attributes
    page = {"items": [service.fields_of(c, principal, now) for c in columns], "next_cursor": next_cursor}
    return Response(service.render(page), media_type="application/json")


async def _export_stmt(
    session: SessionDep, principal: Principal, f: repository.IssueFilters, area_id: uuid.UUID | None
):  # type: ignore[no-untyped-def]
    f = await service.filters_in_scope(session, principal, f, area_id)
    now = clock.now()
    total = await repository.count(session, principal, f, now)
    if total > export.MAX_ROWS:
        raise ValidationFailed(
            f"{total} issues match; exports hold at most {export.MAX_ROWS}. Narrow the filters.",
            code="export_too_large",
            matched=total,
            max_rows=export.MAX_ROWS,
        )
    categories = {c.code: c.name for c in await repository.categories(session)}
    return repository.export_rows(principal, f, now, export.MAX_ROWS), categories


_EXPORT_DOC = (
    " Same filters and scope as the list; reporter data masked; Chinese column headers; at most "
    f"{export.MAX_ROWS} rows (more → 422 `export_too_large`)."
)


@router.get(
    "/export.csv",
    operation_id="issues_export_csv",
    summary="Export issues as CSV (导出 CSV)",
    description="Streams a CSV (UTF-8 with BOM, so Excel reads Chinese)." + _EXPORT_DOC,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problem_responses(403, 422)},
)
async def export_csv(
    request: Request,
    session: SessionDep,
    principal: Manager,
    settings: SettingsDep,
    f: Filters,
    area_id: AreaFilter = None,
) -> StreamingResponse:
    stmt, categories = await _export_stmt(session, principal, f, area_id)
    stream = export.csv_stream(request.app.state.sessionmaker, stmt, ZoneInfo(settings.timezone), categories)
    return StreamingResponse(
        stream,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="issues.csv"'},
    )


@router.get(
    "/export.xlsx",
    operation_id="issues_export_xlsx",
    summary="Export issues as Excel (导出 Excel)",
    description="An XLSX workbook written with xlsxwriter in constant-memory mode, off the event loop." + _EXPORT_DOC,
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
        **problem_responses(403, 422),
    },
)
async def export_xlsx(
    request: Request,
    session: SessionDep,
    principal: Manager,
    settings: SettingsDep,
    f: Filters,
    area_id: AreaFilter = None,
) -> StreamingResponse:
    stmt, categories = await _export_stmt(session, principal, f, area_id)
    path = await export.xlsx_file(request.app.state.sessionmaker, stmt, ZoneInfo(settings.timezone), categories)
    return StreamingResponse(
        export.file_chunks(path),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="issues.xlsx"'},
    )


@router.get(
    "/{issue_id}",
    response_model=schemas.IssueDetail,
    operation_id="issues_get",
    summary="Get an issue (诉求详情)",
    description="With `ETag`; send `If-None-Match` to get 304 when unchanged. `allowed_actions` lists "
    "what you may do next; `sla_state` is computed at read time.",
    responses={304: {"description": "Not modified"}, **problem_responses(403, 404)},
)
async def get_issue(request: Request, issue_id: IssueId, creds: CredentialsDep) -> Response:
    # The hottest read: a bearer token's user is authenticated in the same statement as the read,
    # on the hot-read pool without a session; API keys take the ordinary path.
    if creds.user_id is not None:
        read = await service.read_for_token_user(request.app.state.read_pool, creds.user_id, issue_id, READER_ROLES)
        tag = etag_of(read.issue["version"])
        if not_modified(request, tag):
            return Response(status_code=304, headers={"ETag": tag})
        body = service.render(service.detail_fields(read.issue, read.principal, read.co_reporters))
        return Response(body, media_type="application/json", headers={"ETag": tag})
    async with request_session(request) as session:
        principal = await principal_for(request, session, creds, READER_ROLES)
        issue = await service.get_in_scope(session, principal, issue_id)
        tag = etag_of(issue.version)
        if not_modified(request, tag):
            return Response(status_code=304, headers={"ETag": tag})
        return _json(await service.detail(session, issue, principal), headers={"ETag": tag})


@router.patch(
    "/{issue_id}",
    response_model=schemas.IssueDetail,
    operation_id="issues_update",
    summary="Edit an issue (修改诉求)",
    description="Title, description, category, priority, address, location and reporter, and only "
    "while `reported` or `accepted` (409 `issue_not_editable` after dispatch). `If-Match` is required "
    "(428 without, 412 when stale). Status, tier and deadlines change only through actions; a new "
    "category or priority re-applies the SLA policy to the running windows.",
    responses=problem_responses(403, 404, 409, 412, 422, 428),
)
async def update_issue(
    issue_id: IssueId,
    body: schemas.IssueUpdate,
    session: SessionDep,
    principal: Editor,
    settings: SettingsDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response:
    issue = await service.update_issue(session, principal, settings, issue_id, body, if_match)
    return _json(await service.detail(session, issue, principal), headers={"ETag": etag_of(issue.version)})


_ACTION_DOC = """Moves the issue through the closed loop. Allowed actions per status and role are one
table (`allowed_actions` on every issue); on top of it: departments and grid workers work only the
tickets dispatched to them or their unit (403 `not_assignee`); grid workers act on accepted issues
and escalate only at the grid tier (403 `above_grid_tier`); verification must be done by someone
other than the resolver (403 `verifier_is_resolver`); a merge target must be another open issue in
scope. A disallowed action → 409 `invalid_transition` with `allowed_actions`; a role that may not →
403 `action_not_permitted`.

Ids in the body are resolved like ids in a path: a merge target outside your scope is 422
`unknown_issue`; a dispatch goes to a unit or staff member serving the issue's area (registered at
it, at an ancestor or inside it), anyone else — another district's department, another community's
property company — is 422 `unknown_unit` / `unknown_user`; one serving the area who cannot take it
(inactive, wrong role) is 422 `invalid_assignee`. `errors` names the body field.

Bodies per action: accept / start / resume / verify / supervise `{note?}`; reject `{reason:
duplicate|invalid|out_of_scope, note?}`; merge `{into_issue_id}`; dispatch `{assignee_user_id |
assignee_unit_id, note?}`; return (退单) `{reason: wrong_area|unclear_ownership|overlapping_duties,
note?}`; suspend `{reason}` (SLA clock stops); request_extension `{hours | working_days, reason}`;
approve_extension `{approve}`; escalate / verify_fail / reopen `{reason}`; resolve `{outcome:
solved|answered|unsolvable, explanation (required for unsolvable), notes?, photo_ids?}`; close
`{rating, solved}` or `{unreachable: true, attempts}` — the response carries `feedback_url`, the
resident's one-time 回访 link, shown only here; evaluate `{rating, solved, comment?}`. A 不满意 rating
within 7 days of closing — with close, evaluate or the resident's link alike — reopens the issue for
rework (重办, by the system) once: an issue already reopened stays closed with its rating.

`If-Match` is optional but checked when sent (412 when stale): phones should send the ETag they
showed the user, so a decision taken on stale information is refused rather than applied."""


@router.post(
    "/{issue_id}/actions/{action}",
    response_model=schemas.ActionResult,
    operation_id="issues_act",
    summary="Take a workflow action (办理: 受理/派单/退单/办结/核查/结案…)",
    description=_ACTION_DOC,
    responses=problem_responses(403, 404, 409, 412, 422),
)
async def act(
    issue_id: IssueId,
    action: Annotated[Action, Path(description="the action to take")],
    session: SessionDep,
    principal: Actor,
    settings: SettingsDep,
    body: Annotated[
        dict[str, Any] | None, Body(openapi_examples=schemas.ACTION_EXAMPLES)  # type: ignore[arg-type]
    ] = None,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response:
    ctx = await service.act(session, principal, settings, issue_id, action, body, if_match)
    out = await service.detail(session, ctx.issue, principal, schemas.ActionResult)
    if ctx.feedback_token:
        out.feedback_url = service.feedback_url(ctx.feedback_token)
    return _json(out, headers={"ETag": etag_of(ctx.issue.version)})


@router.get(
    "/{issue_id}/events",
    response_model=Page[schemas.EventOut],
    operation_id="issues_events",
    summary="Timeline of an issue (办理过程)",
    description="Every action with actor, time, from/to status and payload, in order of `seq` "
    "(1, 2, 3 … without gaps). Keyset paged.",
    responses=problem_responses(403, 404),
)
async def events(
    issue_id: IssueId,
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    limit: LimitQuery = 200,
    cursor: CursorQuery = None,
) -> Page[schemas.EventOut]:
    issue = await service.get_in_scope(session, principal, issue_id)
    keys = Keyset.open(settings, principal, "issues.events", cursor, (BIGINT,), within=[str(issue.id)])
    rows = await repository.events(session, issue.id, after_seq=keys.after[0] if keys.after else 0, limit=limit)
    items, next_cursor = keys.page(rows, limit, lambda e: [e.seq])
    return Page[schemas.EventOut](items=[schemas.EventOut.model_validate(e) for e in items], next_cursor=next_cursor)


@router.get(
    "/{issue_id}/similar",
    response_model=list[schemas.SimilarIssue],
    operation_id="issues_similar",
    summary="Possible duplicates (疑似重复诉求)",
    description="Open issues in your jurisdiction in the same area or within ~300 m whose title and "
    "description are similar (pg_trgm `similarity()`, which works on Chinese text), best first, with "
    "the score. Fold a duplicate in with the `merge` action.",
    responses=problem_responses(403, 404),
)
async def similar(
    issue_id: IssueId,
    session: SessionDep,
    principal: Editor,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[schemas.SimilarIssue]:
    issue = await service.get_in_scope(session, principal, issue_id)
    rows = await repository.similar(session, principal, issue, limit=limit)
    return [
        schemas.SimilarIssue(
            id=i.id,
            number=i.number,
            title=i.title,
            status=i.status,  # type: ignore[arg-type]
            area_id=i.area_id,
            score=round(score, 4),
            distance_m=None if distance is None else round(distance, 1),
            created_at=i.created_at,
        )
        for i, score, distance in rows
    ]


# --- comments and attachments -------------------------------------------------------------------


@router.post(
    "/{issue_id}/comments",
    status_code=201,
    response_model=schemas.CommentOut,
    operation_id="issues_comment",
    summary="Comment on an issue (备注)",
    description="Adds a remark to the issue and its timeline (without changing its version). " + idempotency.POLICY_DOC,
    responses=problem_responses(403, 404, 409, 422),
)
async def add_comment(
    request: Request,
    issue_id: IssueId,
    body: schemas.CommentCreate,
    session: SessionDep,
    principal: Actor,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", description=idempotency.POLICY_DOC)] = None,
) -> Response:
    claim = await idempotency.claim(session, request, principal.idempotency_owner, idempotency_key)
    if claim is not None and claim.replay is not None:
        return claim.replay
    comment = await service.add_comment(session, principal, issue_id, body.body)
    response = _json(
        schemas.CommentOut.model_validate(comment),
        201,
        {"Location": f"/api/v1/issues/{issue_id}/comments/{comment.id}"},
    )
    return await idempotency.complete(session, claim, response)


@router.get(
    "/{issue_id}/comments",
    response_model=Page[schemas.CommentOut],
    operation_id="issues_comments",
    summary="Comments on an issue (备注列表)",
    description="Oldest first; keyset paged.",
    responses=problem_responses(403, 404),
)
async def list_comments(
    issue_id: IssueId,
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[schemas.CommentOut]:
    issue = await service.get_in_scope(session, principal, issue_id)
    keys = Keyset.open(settings, principal, "issues.comments", cursor, within=[str(issue.id)])
    rows = await repository.comments(session, issue.id, after=keys.after, limit=limit)
    items, next_cursor = keys.page(rows, limit, lambda c: [c.created_at, c.id])
    return Page[schemas.CommentOut](
        items=[schemas.CommentOut.model_validate(c) for c in items], next_cursor=next_cursor
    )


@router.post(
    "/{issue_id}/attachments",
    status_code=201,
    response_model=schemas.AttachmentOut,
    operation_id="issues_attach",
    summary="Attach a photo or document (上传照片/材料)",
    description="Multipart: `file` and `kind` (before / after / other). JPEG, PNG, WebP and PDF only, "
    "recognised by their content (415 otherwise); size limited by the server's upload limit (413).",
    responses=problem_responses(403, 404, 413, 415, 422),
)
async def attach(
    issue_id: IssueId,
    session: SessionDep,
    principal: Actor,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the photo or document")],
    kind: Annotated[schemas.AttachmentKind, Form()] = schemas.AttachmentKind.OTHER,
) -> Response:
    data = await file.read()
    row = await service.add_attachment(
        session, principal, settings, issue_id, data=data, filename=file.filename, kind=kind.value
    )
    return _json(
        schemas.AttachmentOut.model_validate(row),
        201,
        {"Location": f"/api/v1/issues/{issue_id}/attachments/{row.id}"},
    )


@router.get(
    "/{issue_id}/attachments",
    response_model=list[schemas.AttachmentOut],
    operation_id="issues_attachments",
    summary="Attachments of an issue (附件列表)",
    description="Metadata of every attachment, oldest first.",
    responses=problem_responses(403, 404),
)
async def list_attachments(issue_id: IssueId, session: SessionDep, principal: Reader) -> list[schemas.AttachmentOut]:
    issue = await service.get_in_scope(session, principal, issue_id)
    return [schemas.AttachmentOut.model_validate(a) for a in await repository.attachments(session, issue.id)]


@router.get(
    "/{issue_id}/attachments/{attachment_id}",
    operation_id="issues_attachment_download",
    summary="Download an attachment (下载附件)",
    description="The file itself, with its sniffed content type.",
    response_class=FileResponse,
    responses=problem_responses(403, 404),
)
async def download_attachment(
    issue_id: IssueId, attachment_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep
) -> FileResponse:
    issue = await service.get_in_scope(session, principal, issue_id)
    row = await repository.attachment(session, issue.id, attachment_id)
    path = files.path_of(settings.attachments_dir, issue.id, attachment_id)
    if row is None or not path.is_file():
        raise NotFound("No such attachment.", code="attachment_not_found")
    return FileResponse(path, media_type=row.content_type, filename=row.filename)


# --- configuration ------------------------------------------------------------------------------


@config_router.get(
    "/issue-categories",
    response_model=list[schemas.CategoryOut],
    operation_id="issue_categories_list",
    summary="Issue categories (诉求分类)",
    description="The category tree (物业, 矛盾纠纷, 设施 › 照明 …) as a flat list with `parent_code`.",
    responses=problem_responses(403),
)
async def list_categories(session: SessionDep, principal: AnyStaff) -> list[schemas.CategoryOut]:
    return [schemas.CategoryOut.model_validate(c) for c in await repository.categories(session)]


@config_router.get(
    "/sla-policies",
    response_model=schemas.SlaPolicyList,
    operation_id="sla_policies_list",
    summary="SLA policies (时限标准)",
    description="Respond and resolve windows per category × priority, category, priority or kind, and a "
    "global default; an issue takes the first that matches in that order. Units: `hours` (calendar) "
    "or `working_days` (weekends and official holidays skipped, 调休 days counted).",
    responses=problem_responses(403),
)
async def list_policies(session: SessionDep, principal: Manager) -> schemas.SlaPolicyList:
    return schemas.SlaPolicyList(items=[service.policy_out(r) for r in await repository.policy_rows(session)])


@config_router.put(
    "/sla-policies",
    response_model=schemas.SlaPolicyList,
    operation_id="sla_policies_replace",
    summary="Replace the SLA policies (设置时限标准)",
    description="Replaces the whole set (it must contain a global default with no category, priority or "
    "kind). Issues keep the windows they started with; new issues and category/priority edits use the "
    "new set, for the windows still running (a response or resolution already given keeps its deadline). "
    "Admins only.",
    responses=problem_responses(403, 422),
)
async def replace_policies(body: schemas.SlaPolicySet, session: SessionDep, principal: Admin) -> schemas.SlaPolicyList:
    return schemas.SlaPolicyList(items=await service.replace_policies(session, body))


# --- the resident's feedback link (public) ------------------------------------------------------


@public_router.post(
    "/{token}",
    dependencies=[Depends(rate_limit("feedback", "rate_limit_public_writes", 60))],
    response_model=schemas.FeedbackResult,
    operation_id="feedback_submit",
    summary="Rate a closed issue (居民回访评价)",
    description="The one-time link sent to the resident when the issue is closed; no login. Takes the "
    "rating (满意 / 基本满意 / 不满意) and whether the problem was solved. 不满意 within 7 days of "
    "closing reopens the issue (重办) once, as it does given at 结案 or by staff. The link works once "
    "(410 `feedback_used`), for 30 days and for the closing it was sent for (410 `feedback_expired`). "
    "Rate-limited per client address (429 with `Retry-After`).",
    responses=problem_responses(404, 410, 422, 429),
)
async def submit_feedback(
    token: Annotated[str, Path(min_length=10, max_length=100)],
    body: schemas.FeedbackBody,
    session: SessionDep,
    settings: SettingsDep,
) -> schemas.FeedbackResult:
    return await service.submit_feedback(session, settings, token, body)
