"""/api/v1/issues — the closed loop (诉求闭环) from report to the resident's rating."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import Body, Depends, File, Form, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.deps import CredentialsDep, principal_for, require_roles
from app.auth.roles import Role
from app.config import Settings, SettingsDep
from app.db import SessionDep, request_session
from app.errors import ValidationFailed, field_error, problem_responses
from app.grids import service as grids
from app.issues import actions, comments, export, feedback, files, intake, presenter, reading, schemas
from app.issues import sync_feed as sync_feed  # registers the issues in the offline-sync feed
from app.issues.models import Issue
from app.issues.sla import SlaState
from app.issues.workflow import ACTION_LABELS, Action, Channel, Kind, Priority, Status, Tier
from app.kit import clock, idempotency
from app.kit.etag import etag_of, not_modified
from app.kit.openapi import documented_body
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.ratelimit import rate_limit
from app.kit.routing import Router
from app.kit.schemas import Page, QueryDatetime
from app.kit.storage import StorageDep
from app.kit.tokens import BIGINT
from app.replicas import ReplicaSessionDep, read_node
from app.scope import Principal

router = Router(prefix="/api/v1/issues", tags=["issues"])
config_router = Router(prefix="/api/v1", tags=["issues"])
public_router = Router(prefix="/api/v1/feedback", tags=["feedback"])

CREATORS = (Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN, Role.INTEGRATION)
READERS = (
    Role.GRID_WORKER,
    Role.MEDIATOR,
    Role.COMMUNITY_ADMIN,
    Role.STREET_ADMIN,
    Role.DEPARTMENT,
    Role.ADMIN,
    Role.INTEGRATION,
)
ACTORS = (Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DEPARTMENT, Role.ADMIN)
EDITORS = (Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN)
MANAGERS = (Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN)

Creator = Annotated[Principal, Depends(require_roles(*CREATORS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
READER_ROLES = frozenset(READERS)
Actor = Annotated[Principal, Depends(require_roles(*ACTORS))]
Editor = Annotated[Principal, Depends(require_roles(*EDITORS))]
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
AnyStaff = Annotated[Principal, Depends(require_roles(*Role))]
IssueId = Annotated[uuid.UUID, Path(description="issue id")]


def _json(model: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return _rendered(model.model_dump_json().encode(), status, headers)


def _rendered(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


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
    "respond / resolve deadlines from the SLA policy. Phones may mint `id` offline (the same id sent twice "
    "at once: one issue, the other copy 409 `issue_exists`). " + idempotency.POLICY_DOC,
    responses=problem_responses(403, 409, 422),
)
async def create_issue(
    request: Request,
    body: schemas.IssueCreate,
    principal: Creator,
    settings: SettingsDep,
    idempotency_key: idempotency.KeyHeader = None,
) -> Response:
    key = await idempotency.pending(request, principal.idempotency_owner, idempotency_key)

    def created(issue: Issue) -> Response:
        out = presenter.detail_fields(presenter.columns_of(issue), principal, [])  # no co-reporters yet: no query
        headers = {"Location": f"/api/v1/issues/{issue.id}", "ETag": etag_of(issue.version)}
        return _rendered(presenter.render(out), 201, headers)

    pool = request.app.state.read_pool  # the primary's: one statement, autocommitted (no session)
    return await intake.file_issue(pool, principal, settings, body, key=key, respond=created)


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
) -> reading.IssueFilters:
    for name, value in (("created_from", created_from), ("created_to", created_to), ("updated_since", updated_since)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                f"{name} needs a UTC offset.", errors=[field_error(name, "must include a UTC offset (RFC 3339)")]
            )
    return reading.IssueFilters(
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


Filters = Annotated[reading.IssueFilters, Depends(_filters)]
AreaFilter = Annotated[uuid.UUID | None, Query(description="an area in your jurisdiction; its whole subtree")]


async def _reader_and_area(
    request: Request, session: ReplicaSessionDep, creds: CredentialsDep, area_id: AreaFilter = None
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
    session: ReplicaSessionDep,
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
    rows = await reading.page(session, principal, f, after=keys.after, limit=limit, now=now)
    items, next_cursor = keys.page(rows, limit, lambda i: [i.updated_at if by_update else i.created_at, i.id])
    names = list(rows[0]._fields) if rows else []
    columns = [dict(zip(names, row, strict=True)) for row in items]  # by name: cheaper than a row's attributes
    page = {"items": [presenter.issue_fields(c, principal, now) for c in columns], "next_cursor": next_cursor}
    return Response(presenter.render(page), media_type="application/json")


@dataclass(frozen=True)
class _Export:
    """The rows of an export (read on a session of their own, off the request's) and what they need."""

    sessionmaker: async_sessionmaker[AsyncSession]
    rows: sa.Select[Any]
    tz: ZoneInfo
    categories: dict[str, str]


async def _export(
    request: Request,
    session: ReplicaSessionDep,
    principal: Manager,
    settings: SettingsDep,
    f: Filters,
    area_id: AreaFilter = None,
) -> _Export:
    f = await reading.filters_in_scope(session, principal, f, area_id)
    now = clock.now()
    total = await reading.count(session, principal, f, now)
    if total > export.MAX_ROWS:
        raise ValidationFailed(
            f"{total} issues match; exports hold at most {export.MAX_ROWS}. Narrow the filters.",
            code="export_too_large",
            matched=total,
            max_rows=export.MAX_ROWS,
        )
    categories = {c.code: c.name for c in await reading.categories(session)}
    rows = reading.export_rows(principal, f, now, export.MAX_ROWS)
    return _Export((await read_node(request)).sessionmaker, rows, ZoneInfo(settings.timezone), categories)


Export = Annotated[_Export, Depends(_export)]


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
async def export_csv(out: Export) -> StreamingResponse:
    return StreamingResponse(
        export.csv_stream(out.sessionmaker, out.rows, out.tz, out.categories),
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
async def export_xlsx(out: Export) -> StreamingResponse:
    path = await export.xlsx_file(out.sessionmaker, out.rows, out.tz, out.categories)
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
        read = await reading.read_for_token_user(request.app.state.read_pool, creds.user_id, issue_id, READER_ROLES)
        tag = etag_of(read.issue["version"])
        if not_modified(request, tag):
            return Response(status_code=304, headers={"ETag": tag})
        body = presenter.render(presenter.detail_fields(read.issue, read.principal, read.co_reporters))
        return Response(body, media_type="application/json", headers={"ETag": tag})
    async with request_session(request) as session:
        principal = await principal_for(request, session, creds, READER_ROLES)
        issue = await reading.get_in_scope(session, principal, issue_id)
        tag = etag_of(issue.version)
        if not_modified(request, tag):
            return Response(status_code=304, headers={"ETag": tag})
        return _rendered(await presenter.detail(session, issue, principal), headers={"ETag": tag})


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
    issue = await intake.update_issue(session, principal, settings, issue_id, body, if_match)
    return _rendered(await presenter.detail(session, issue, principal), headers={"ETag": etag_of(issue.version)})


_ACTION_RULES = """Allowed actions per status and role are one table (`allowed_actions` on every
issue); on top of it: departments and grid workers work only the tickets dispatched to them or their
unit (403 `not_assignee`); grid workers act on accepted issues and escalate only at the grid tier (403
`above_grid_tier`); verification must be done by someone other than the resolver (403
`verifier_is_resolver`); a merge target must be another open issue in scope. A disallowed action → 409
`invalid_transition` with `allowed_actions`; a role that may not → 403 `action_not_permitted`. The
body is checked after the issue's state: 422 `validation_failed` with `errors`.

Ids in the body are resolved like ids in a path: a merge target outside your scope is 422
`unknown_issue`; a dispatch goes to a unit or staff member serving the issue's area (registered at
it, at an ancestor or inside it), anyone else — another district's department, another community's
property company — is 422 `unknown_unit` / `unknown_user`; one serving the area who cannot take it
(inactive, wrong role) is 422 `invalid_assignee`. `errors` names the body field.

`If-Match` is optional but checked when sent (412 when stale): phones should send the ETag they
showed the user, so a decision taken on stale information is refused rather than applied."""

_ACTION_NOTES: dict[Action, str] = {
    Action.ACCEPT: "Takes the issue in (受理): the respond clock stops.",
    Action.REJECT: "Declines it (不予受理): `duplicate`, `invalid` or `out_of_scope`.",
    Action.MERGE: "Folds it into another open issue (`into_issue_id`); its reporter joins that issue.",
    Action.DISPATCH: "Hands it to a person (`assignee_user_id`) or a unit (`assignee_unit_id`): exactly one.",
    Action.RETURN: "The assignee hands it back (退单) with a reason.",
    Action.START: "The assignee starts work (开始处置).",
    Action.SUSPEND: "Suspends it (挂起) with a reason: the SLA clock stops.",
    Action.RESUME: "Resumes a suspended issue: the SLA clock runs again.",
    Action.REQUEST_EXTENSION: "Asks for more time: `hours` or `working_days` (one of them), with a reason.",
    Action.APPROVE_EXTENSION: "Grants (`approve: true`) or refuses the pending extension.",
    Action.SUPERVISE: "Urges the assignee on (督办).",
    Action.ESCALATE: "Moves it up one tier (上报上级) with a reason.",
    Action.RESOLVE: "Reports it done (办结): `solved`, `answered` or `unsolvable` (with `explanation`).",
    Action.VERIFY: "Confirms the resolution (核查通过); someone other than the resolver.",
    Action.VERIFY_FAIL: "Sends it back for more work (核查不通过) with a reason.",
    Action.CLOSE: "Closes it after the 回访: `{rating, solved}`, or `{unreachable: true, attempts}`. The "
    "response carries `feedback_url`, the resident's one-time 回访 link, shown only here. A 不满意 rating "
    "within 7 days of closing reopens the issue for rework (重办, by the system) once: an issue already "
    "reopened stays closed with its rating.",
    Action.REOPEN: "Reopens a closed issue (重办) with a reason.",
    Action.EVALUATE: "Records the resident's rating (评价); 不满意 within 7 days of closing reopens the issue for "
    "rework once (as with close and the resident's link); an issue already reopened stays closed.",
}
_EXAMPLE_KEYS: dict[Action, tuple[str, ...]] = {
    Action.CLOSE: ("close", "close_unreachable"),
}


async def _act(
    issue_id: uuid.UUID,
    action: Action,
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: dict[str, Any] | None,
    if_match: str | None,
) -> Response:
    ctx = await actions.act(session, principal, settings, issue_id, action, body, if_match)
    url = feedback.feedback_url(ctx.feedback_token) if ctx.feedback_token else None
    out = await presenter.detail(session, ctx.issue, principal, feedback_url=url)
    return _rendered(out, headers={"ETag": etag_of(ctx.issue.version)})


def _action_route(action: Action) -> None:
    """``POST /{issue_id}/actions/<action>``: one operation per action, each publishing its body model
    (generated clients get a class per body). The body is read as JSON and checked by the service,
    after the issue's state, as the generic route below does."""
    keys = _EXAMPLE_KEYS.get(action, (action.value,))
    examples = {key: schemas.ACTION_EXAMPLES[key] for key in keys if key in schemas.ACTION_EXAMPLES}

    async def act_one(
        issue_id: IssueId,
        session: SessionDep,
        principal: Actor,
        settings: SettingsDep,
        body: Annotated[dict[str, Any] | None, Body()] = None,
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    ) -> Response:
        return await _act(issue_id, action, session, principal, settings, body, if_match)

    label = ACTION_LABELS[action]
    router.post(
        f"/{{issue_id}}/actions/{action.value}",
        response_model=schemas.ActionResult,
        operation_id=f"issues_act_{action.value}",
        summary=f"{label} ({action.value})",
        description=_ACTION_NOTES[action] + "\n\n" + _ACTION_RULES,
        responses=problem_responses(403, 404, 409, 412, 422),
        openapi_extra=documented_body(
            schemas.ACTION_BODIES[action], required=action not in OPTIONAL_BODY, examples=examples
        ),
    )(act_one)


# Actions whose body is only an optional note: the body may be left out.
OPTIONAL_BODY = frozenset(a for a, model in schemas.ACTION_BODIES.items() if model is schemas.NoteBody)
for _action in Action:
    _action_route(_action)


@router.post("/{issue_id}/actions/{action}", include_in_schema=False)
async def act(
    issue_id: IssueId,
    action: Annotated[Action, Path(description="the action to take")],
    session: SessionDep,
    principal: Actor,
    settings: SettingsDep,
    body: Annotated[dict[str, Any] | None, Body()] = None,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response:
    """Any other action name: 422 on ``action`` (each known action has its own route above)."""
    return await _act(issue_id, action, session, principal, settings, body, if_match)


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
    keys = Keyset.open(settings, principal, "issues.events", cursor, (BIGINT,), within=[str(issue_id)])
    after_seq = keys.after[0] if keys.after else 0
    rows = await reading.events(session, principal, issue_id, after_seq=after_seq, limit=limit)
    return keys.answer(rows, limit, schemas.EventOut.model_validate, key=lambda event: [event.seq])


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
    rows = await reading.similar(session, principal, issue_id, limit=limit)
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
    idempotency_key: idempotency.KeyHeader = None,
) -> Response:
    async def add() -> Response:
        comment = await comments.add_comment(session, principal, issue_id, body.body)
        location = f"/api/v1/issues/{issue_id}/comments/{comment.id}"
        return _json(schemas.CommentOut.model_validate(comment), 201, {"Location": location})

    return await idempotency.once(session, request, principal.idempotency_owner, idempotency_key, add)


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
    keys = Keyset.open(settings, principal, "issues.comments", cursor, within=[str(issue_id)])
    rows = await comments.comments_of(session, principal, issue_id, after=keys.after, limit=limit)
    return keys.answer(rows, limit, schemas.CommentOut.model_validate)


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
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="the photo or document")],
    kind: Annotated[schemas.AttachmentKind, Form()] = schemas.AttachmentKind.OTHER,
) -> Response:
    row = await comments.add_attachment(
        session,
        principal,
        settings,
        storage,
        issue_id,
        chunks=files.chunks_of(file),
        filename=file.filename,
        kind=kind.value,
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
    return [
        schemas.AttachmentOut.model_validate(a) for a in await comments.attachments_of(session, principal, issue_id)
    ]


@router.get(
    "/{issue_id}/attachments/{attachment_id}",
    operation_id="issues_attachment_download",
    summary="Download an attachment (下载附件)",
    description="The file itself, with its sniffed content type; where the server is set to, a 307 to a "
    "short-lived signed URL of the object store instead.",
    response_class=FileResponse,
    responses={
        **problem_responses(403, 404),
        307: {"description": "the file at a signed URL of the object store, valid for a short time"},
    },
)
async def download_attachment(
    issue_id: IssueId,
    attachment_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    storage: StorageDep,
) -> Response:
    row = await comments.attachment_of(session, principal, issue_id, attachment_id)
    key = files.key_of(row.issue_id, row.id)
    return await files.download(
        storage, settings, key, content_type=row.content_type, filename=row.filename, thing="attachment"
    )


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
    return [schemas.CategoryOut.model_validate(c) for c in await reading.categories(session)]


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
    return await actions.submit_feedback(session, settings, token, body)
