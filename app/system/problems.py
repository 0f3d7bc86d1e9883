"""GET /problems/{code}: the page each problem's ``type`` points at (RFC 9457 §3.1.1).

One entry per stable ``code`` the service answers with: its HTTP status, title and what it means
for the client. HTML for a person following the link, JSON for a program (by ``Accept``). A test
checks that every code raised anywhere in ``app/`` is listed here.
"""

from __future__ import annotations

import html
from typing import Annotated, NamedTuple

from fastapi import Path, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from app.errors import NotFound, problem_responses
from app.kit.routing import Router


class Problem(NamedTuple):
    status: int
    title: str
    meaning: str


CATALOGUE: dict[str, Problem] = {
    "activity_outside_year": Problem(
        422,
        "The request is not valid",
        "An activity counts for the commitments of the year of its local date (Asia/Shanghai).",
    ),
    "agenda_item_not_found": Problem(404, "Not found", "The consultation has no agenda item with that number."),
    "commitment_activity_not_found": Problem(404, "Not found", "No such commitment activity in your area."),
    "commitment_item_not_found": Problem(404, "Not found", "No such item in this commitment list."),
    "commitment_list_empty": Problem(409, "Conflict", "A commitment list without items cannot be submitted."),
    "commitment_list_exists": Problem(409, "Conflict", "The community already has a commitment list for that year."),
    "commitment_list_not_found": Problem(404, "Not found", "No such commitment list (一年10件实事) in your area."),
    "consultation_not_found": Problem(404, "Not found", "No such consultation (民主协商) in your area."),
    "decision_not_adopted": Problem(
        409, "Conflict", "Only an adopted decision creates a commitment or files an issue."
    ),
    "import_invalid": Problem(
        422,
        "The request is not valid",
        "The imported list has errors; nothing was stored. `errors` names each row and column at fault.",
    ),
    "invalid_schedule": Problem(
        422,
        "The request is not valid",
        "The recurring target is not possible (e.g. a season that ends before it starts, "
        "a range whose minimum exceeds its maximum).",
    ),
    "items_of_several_communities": Problem(
        422, "The request is not valid", "An activity serves the commitment items of one community."
    ),
    "merge_across_areas": Problem(409, "Conflict", "Only proposals of the same area are merged."),
    "merge_into_self": Problem(409, "Conflict", "A proposal is not merged into itself."),
    "milestone_not_found": Problem(404, "Not found", "The commitment item has no milestone with that number."),
    "milestone_outside_year": Problem(
        422, "The request is not valid", "A milestone of a year's commitment is done within that year."
    ),
    "not_a_community": Problem(422, "The request is not valid", "An annual commitment list belongs to a community."),
    "not_a_suggestion": Problem(409, "Conflict", "Only an issue of kind suggestion (建议) becomes a proposal."),
    "present_exceeds_invited": Problem(
        422, "The request is not valid", "More representatives present than were invited."
    ),
    "proposal_not_found": Problem(404, "Not found", "No such proposal (民事民提) in your area."),
    "reason_required": Problem(
        422, "The request is not valid", "A decision stands: a correction is a new decision that says why (`reason`)."
    ),
    "too_many_commitments": Problem(
        422,
        "The request is not valid",
        "A commitment list holds at most the configured number of items (10 by default).",
    ),
    "unknown_commitment_list": Problem(
        422, "The request is not valid", "The commitment list is unknown or not of the meeting's community."
    ),
    "unreadable_file": Problem(
        422, "The request is not valid", "The uploaded file cannot be read as CSV (UTF-8 or GB18030) or XLSX."
    ),
    "votes_exceed_present": Problem(422, "The request is not valid", "More votes than representatives present."),
    "votes_mismatch": Problem(422, "The request is not valid", "One count per option of the agenda item."),
    "already_paired": Problem(409, "Conflict", "This helper is paired with this household already (帮扶对子)."),
    "already_posted": Problem(
        409, "Conflict", "This has been posted to the points ledger already; a posting is made once."
    ),
    "already_reversed": Problem(
        409, "Conflict", "This ledger posting has been reversed already; a posting is reversed at most once."
    ),
    "daily_cap_exceeded": Problem(
        422,
        "The request is not valid",
        "A volunteer's service records of one day (Asia/Shanghai) may not exceed the community's daily cap.",
    ),
    "default_rate_missing": Problem(
        422,
        "The request is not valid",
        "The community's points rules need a `default` points-per-hour rate for the other activity types.",
    ),
    "diary_twice": Problem(
        422, "The request is not valid", "A pairing visit either writes a diary entry or links one, not both."
    ),
    "insufficient_balance": Problem(
        409, "Conflict", "Not enough points or hours on the account for this posting; a balance never goes below zero."
    ),
    "invalid_duration": Problem(
        422, "The request is not valid", "A service record lasts from one minute to the longest a record may last."
    ),
    "item_not_offered": Problem(
        422, "The request is not valid", "This 爱心超市 item is not offered to the volunteer's community."
    ),
    "out_of_stock": Problem(409, "Conflict", "The 爱心超市 has fewer of this item than asked for."),
    "own_request": Problem(422, "The request is not valid", "A volunteer does not serve their own time-bank request."),
    "pairing_not_found": Problem(404, "Not found", "No such pairing (帮扶对子) in your area."),
    "posting_not_found": Problem(404, "Not found", "No such ledger posting in your area."),
    "record_overlaps": Problem(
        409,
        "Conflict",
        "This volunteer has another service record in that time; one volunteer's records never overlap.",
    ),
    "service_record_not_found": Problem(404, "Not found", "No such service record in your area."),
    "shop_item_not_found": Problem(404, "Not found", "No such item in your area's 爱心超市."),
    "storage_unavailable": Problem(
        503, "Service temporarily unavailable", "The file storage did not answer; retry after `Retry-After` seconds."
    ),
    "timebank_request_not_found": Problem(404, "Not found", "No such time-bank request in your area."),
    "visit_in_future": Problem(422, "The request is not valid", "A visit cannot be recorded in the future."),
    "volunteer_inactive": Problem(422, "The request is not valid", "This volunteer is no longer active."),
    "volunteer_not_found": Problem(404, "Not found", "No such volunteer in your area."),
    "wish_not_found": Problem(404, "Not found", "No such wish (微心愿) in your area."),
    "above_grid_tier": Problem(
        403,
        "Not allowed for your role",
        "Grid workers act, and escalate, at the grid tier only.",
    ),
    "account_deactivated": Problem(401, "Authentication required", "This account has been deactivated."),
    "action_not_permitted": Problem(
        403,
        "Action not permitted for your role",
        "The action applies to the issue's status, but not for your role; `allowed_actions` lists what you may do.",
    ),
    "api_key_not_found": Problem(404, "Not found", "No such API key."),
    "api_key_required": Problem(
        401, "Authentication required", "Signed hotline calls need an API key (X-API-Key or Bearer mq_…)."
    ),
    "api_key_revoked": Problem(401, "Authentication required", "This API key has been revoked."),
    "area_code_taken": Problem(
        409, "Conflict", "An area with code … exists. / …: area … exists with another parent or level."
    ),
    "area_mismatch": Problem(
        422, "The request is not valid", "A resident lives where the household is; leave area_id out."
    ),
    "area_not_found": Problem(
        404, "Not found", "No such area in your jurisdiction. / Your home area no longer exists."
    ),
    "attachment_not_found": Problem(404, "Not found", "No such attachment."),
    "bad_request": Problem(400, "Bad request", "The request cannot be handled as sent."),
    "already_exists": Problem(
        409, "Conflict", "Another request wrote the same record at the same moment; reload and retry."
    ),
    "batch_too_large": Problem(422, "The request is not valid", "At most … entries per batch; split the upload."),
    "boundary_outside_parent": Problem(
        422, "The request is not valid", "The boundary lies … outside its parent area (at most … allowed)."
    ),
    "building_not_found": Problem(404, "Not found", "No such building in your area."),
    "cannot_deactivate_self": Problem(409, "Conflict", "You cannot deactivate yourself."),
    "cannot_escalate": Problem(
        409, "Already at the highest tier", "The issue is already at the street tier, the highest one (矛盾不上交)."
    ),
    "concurrent_update": Problem(
        409, "Conflict", "Another change to the same records happened at the same moment; retry the request."
    ),
    "conflict": Problem(409, "Conflict", "The request conflicts with the current state of the resource."),
    "cursor_expired": Problem(410, "Gone", "This cursor is older than the change feed keeps; do a full sync."),
    "database_unavailable": Problem(
        503,
        "Service temporarily unavailable",
        "The database is unavailable; retry shortly. / Database not reachable: …",
    ),
    "diary_entry_not_found": Problem(404, "Not found", "No such diary entry in your area."),
    "dispute_not_found": Problem(404, "Not found", "No such dispute in your area."),
    "empty_file": Problem(422, "The request is not valid", "The file is empty."),
    "entry_escalated": Problem(
        409,
        "Conflict",
        "This entry was escalated into an issue; follow the issue instead. / This entry was already escalated.",
    ),
    "entry_resolved": Problem(409, "Conflict", "A resolved entry cannot be escalated; write a new one."),
    "export_too_large": Problem(
        422, "The request is not valid", "… issues match; exports hold at most …. Narrow the filters."
    ),
    "extension_pending": Problem(409, "Conflict", "An extension request is already waiting for a decision."),
    "feedback_expired": Problem(
        410, "Gone", "This feedback link has expired. / The issue has been reopened since this link was sent."
    ),
    "feedback_not_found": Problem(404, "Not found", "This feedback link is not valid."),
    "feedback_used": Problem(410, "Gone", "This feedback link has already been used."),
    "forbidden": Problem(403, "Not allowed for your role", "Your role may not do this."),
    "gone": Problem(410, "Gone", "The resource existed but is no longer available."),
    "household_not_found": Problem(404, "Not found", "No such household in your area."),
    "http_error": Problem(400, "Bad request", "The request could not be served as sent."),
    "id_taken": Problem(
        409,
        "Conflict",
        "This id is already taken (for a diary entry: send the update with PATCH or with base_version).",
    ),
    "idempotency_in_progress": Problem(
        409, "Conflict", "A request with this Idempotency-Key is still being processed; retry shortly."
    ),
    "idempotency_key_reused": Problem(
        422, "The request is not valid", "This Idempotency-Key was used for a different request; use a new key."
    ),
    "if_match_required": Problem(
        428, "If-Match header required", "Send If-Match with the ETag you last read, so concurrent edits are not lost."
    ),
    "internal_error": Problem(500, "Internal error", "An unexpected error occurred."),
    "invalid_api_key": Problem(401, "Authentication required", "Unknown API key."),
    "invalid_assignee": Problem(
        422,
        "The request is not valid",
        "Dispatch to an active department user, or a grid worker whose grid holds the issue. / No such active unit.",
    ),
    "invalid_boundary": Problem(422, "The request is not valid", "Invalid boundary: …"),
    "invalid_category_map": Problem(422, "The request is not valid", "The category map is not valid."),
    "invalid_credentials": Problem(
        401, "Authentication required", "Wrong username or password, or the account is deactivated."
    ),
    "invalid_cursor": Problem(422, "The request is not valid", "The cursor is not valid; start again without one."),
    "invalid_geojson": Problem(
        422, "The request is not valid", "Expected a GeoJSON FeatureCollection. / … feature(s) are not valid areas."
    ),
    "invalid_idempotency_key": Problem(
        422, "The request is not valid", "Idempotency-Key must be 1–255 printable characters."
    ),
    "invalid_if_match": Problem(
        412, "The resource has changed", "If-Match must be an ETag from this service, like '\"3\"'; got …."
    ),
    "invalid_mediator": Problem(
        422,
        "The request is not valid",
        "The mediator must be an active mediator or administrator responsible for the dispute's area.",
    ),
    "invalid_merge_target": Problem(
        422, "The request is not valid", "The merge target must be another open issue in your jurisdiction."
    ),
    "invalid_sla_policies": Problem(422, "The request is not valid", "The policy set is not valid."),
    "invalid_token": Problem(401, "Authentication required", "The token is invalid or has expired."),
    "invalid_transition": Problem(
        409,
        "Action not possible in this status",
        "The action does not apply in the current status (whoever asks); `allowed_actions` lists what you may do now.",
    ),
    "date_out_of_range": Problem(
        422,
        "The request is not valid",
        "A date or date-time parameter is well formed but outside the dates the service serves "
        "(1900-01-01 to 2999-12-31); `errors` names the parameter with `allowed.earliest` and `allowed.latest`.",
    ),
    "invalid_lsn": Problem(
        422,
        "The request is not valid",
        "`X-Minqing-Lsn` must be a WAL position this service sent after a write (like `0/3000148`).",
    ),
    "invalid_window": Problem(
        422, "The request is not valid", "'from' must not be after 'to'. / The window may span at most … days."
    ),
    "issue_exists": Problem(409, "Conflict", "An issue with this id exists."),
    "issue_not_editable": Problem(
        409, "Conflict", "Only reported or accepted issues can be edited; after dispatch use the actions."
    ),
    "issue_not_found": Problem(404, "Not found", "No such issue in your jurisdiction."),
    "key_scope_too_wide": Problem(422, "The request is not valid", "A key cannot reach beyond its owner's area."),
    "level_mismatch": Problem(422, "The request is not valid", "A … can only contain …, not …."),
    "location_outside_scope": Problem(
        422, "The request is not valid", "No grid in your jurisdiction contains this location."
    ),
    "login_throttled": Problem(429, "Too many requests", "Too many failed sign-ins; wait before trying again."),
    "malformed_body": Problem(422, "The request is not valid", "The request body cannot be read: send UTF-8 JSON."),
    "malformed_json": Problem(422, "The request is not valid", "The body is not valid JSON."),
    "method_not_allowed": Problem(
        405, "Method not allowed", "The path exists but not with this method; `Allow` lists the methods it takes."
    ),
    "migrations_pending": Problem(
        503, "Service temporarily unavailable", "Database schema is at …, expected …: run `minqing migrate`."
    ),
    "no_area_at_point": Problem(404, "Not found", "No area in your jurisdiction contains the point (…, …)."),
    "no_extension_requested": Problem(409, "Conflict", "There is no extension request to decide."),
    "not_a_grid": Problem(
        422,
        "The request is not valid",
        "Diary entries and grid-level work belong to a grid or micro-grid, not a larger area.",
    ),
    "not_assignee": Problem(
        403, "Not allowed for your role", "Only the assignee (or the assigned unit) works a dispatched ticket."
    ),
    "not_authenticated": Problem(401, "Authentication required", "Send 'Authorization: Bearer <token>' or an API key."),
    "not_found": Problem(404, "Not found", "Unknown, or outside your jurisdiction."),
    "nul_character": Problem(
        422,
        "The request is not valid",
        "NUL characters are not allowed in text. / NUL characters are not allowed in URLs.",
    ),
    "outside_scope": Problem(
        422,
        "The request is not valid",
        "…: outside your jurisdiction. / The location lies outside the area this key serves.",
    ),
    "parent_required": Problem(
        422,
        "The request is not valid",
        "Only a district may be a root, and districts come from `minqing import-areas`: give parent_id.",
    ),
    "problem_not_found": Problem(404, "Not found", "No page describes this problem code."),
    "party_not_found": Problem(404, "Not found", "No such party in this dispute."),
    "payload_too_large": Problem(413, "Request body too large", "The request body exceeds … bytes."),
    "precondition_failed": Problem(412, "The resource has changed", "`If-Match` does not match the current version."),
    "precondition_required": Problem(428, "If-Match header required", "`If-Match` is required."),
    "rate_limited": Problem(
        429, "Too many requests", "Too many requests; retry after `Retry-After` seconds (`limit` per `window_seconds`)."
    ),
    "repeated_parameter": Problem(
        422,
        "The request is not valid",
        "A query parameter that takes one value was given more than once; give each once.",
    ),
    "replayed": Problem(401, "Authentication required", "This webhook-id was already used for another message."),
    "resident_not_found": Problem(404, "Not found", "No such resident in your area."),
    "role_not_allowed": Problem(
        403, "Not allowed for your role", "Role '…' may not do this. / Your role may not see personal data."
    ),
    "scope_changed": Problem(
        410,
        "Gone",
        "Your area has changed since this cursor was issued; do a full sync.",
    ),
    "service_unavailable": Problem(
        503,
        "Service temporarily unavailable",
        "The service is temporarily unavailable; retry after `Retry-After` seconds.",
    ),
    "shutting_down": Problem(503, "Service temporarily unavailable", "The service is shutting down."),
    "signature_invalid": Problem(401, "Authentication required", "The webhook signature does not match."),
    "signature_missing": Problem(
        401, "Authentication required", "The webhook-id, webhook-timestamp and webhook-signature headers are required."
    ),
    "signature_timestamp_out_of_range": Problem(
        401,
        "Authentication required",
        "The webhook-timestamp is not a Unix timestamp, or is too far from the current time.",
    ),
    "ticket_not_found": Problem(
        404, "Not found", "No such ticket. / No such ticket from this integration in its area."
    ),
    "too_many_streams": Problem(
        503, "Service temporarily unavailable", "Too many live connections on this server; retry shortly."
    ),
    "unauthorized": Problem(401, "Authentication required", "Credentials are missing or invalid."),
    "unit_code_taken": Problem(409, "Conflict", "A unit with code … exists."),
    "unit_not_allowed": Problem(422, "The request is not valid", "Integration accounts have no unit."),
    "unit_required": Problem(422, "The request is not valid", "Department users belong to a unit."),
    "unknown_api_key": Problem(422, "The request is not valid", "No such active API key in your jurisdiction."),
    "unknown_area": Problem(422, "The request is not valid", "No such area in your jurisdiction."),
    "unknown_attachment": Problem(422, "The request is not valid", "Photos must be attachments of this issue."),
    "unknown_building": Problem(422, "The request is not valid", "No such building in your area."),
    "unknown_category": Problem(422, "The request is not valid", "Unknown category …."),
    "unknown_household": Problem(422, "The request is not valid", "No such household in your area."),
    "unknown_issue": Problem(
        422,
        "The request is not valid",
        "No such issue in your jurisdiction (e.g. a merge target).",
    ),
    "unknown_link": Problem(422, "The request is not valid", "Linked household or resident not found in your area."),
    "unknown_parent": Problem(422, "The request is not valid", "…: parent … is unknown."),
    "unknown_resident": Problem(422, "The request is not valid", "No such resident in your area."),
    "unknown_type": Problem(422, "The request is not valid", "Unknown types: …."),
    "unknown_unit": Problem(422, "The request is not valid", "No such unit in your jurisdiction."),
    "unknown_user": Problem(422, "The request is not valid", "No such user in your jurisdiction."),
    "unsupported_file_type": Problem(
        415,
        "Unsupported media type",
        "Only JPEG, PNG, WebP and PDF files are accepted (checked by content, not by name).",
    ),
    "unsupported_media_type": Problem(415, "Unsupported media type", "The body's media type is not accepted here."),
    "user_not_found": Problem(404, "Not found", "No such user in your jurisdiction."),
    "username_taken": Problem(409, "Conflict", "Username … is taken."),
    "validation_failed": Problem(
        422,
        "The request is not valid",
        "The request is not valid: `errors` lists each field at fault, what is wrong and what is allowed.",
    ),
    "verifier_is_resolver": Problem(
        403,
        "Not allowed for your role",
        "Verification (核查) must be done by someone other than the person who resolved the issue.",
    ),
    "version_mismatch": Problem(
        412, "The resource has changed", "The resource is at version …; you sent …. Reload and retry."
    ),
    "webhook_delivery_not_found": Problem(404, "Not found", "No such delivery for this subscription."),
    "webhook_delivery_pending": Problem(409, "Conflict", "This delivery is already queued."),
    "webhook_inactive": Problem(409, "Conflict", "The subscription is disabled; re-activate it first."),
    "webhook_not_found": Problem(404, "Not found", "No such webhook subscription in your jurisdiction."),
    "webhook_scope_too_wide": Problem(
        422, "The request is not valid", "A subscription cannot reach beyond its API key's area."
    ),
    "webhook_url_refused": Problem(422, "The request is not valid", "The webhook URL is refused: …."),
}


class ProblemType(BaseModel):
    """What a problem ``code`` means: the resource its ``type`` URI names."""

    code: str
    status: int
    title: str
    meaning: str


router = Router(tags=["system"])

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{code} — Minqing 民情</title>
<style>body{{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.5}}code{{background:#f3f3f3}}</style>
</head><body>
<h1><code>{code}</code></h1>
<p><strong>HTTP {status}</strong> — {title}</p>
<p>{meaning}</p>
<p>Errors are <code>application/problem+json</code> (RFC 9457) with this <code>code</code>;
<code>errors</code> lists the fields at fault where there are any.</p>
</body></html>
"""


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split("text/html")[0]


@router.get(
    "/problems/{code}",
    response_model=ProblemType,
    operation_id="problems_get",
    summary="What a problem code means (错误说明)",
    description="The page a problem's `type` points at: the code's HTTP status, title and meaning. "
    "JSON, or HTML when `Accept` prefers `text/html`. Unknown code → 404 `problem_not_found`.",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **problem_responses(404)},
)
async def problem_page(
    request: Request, code: Annotated[str, Path(max_length=64, description="the problem's `code`")]
) -> Response:
    entry = CATALOGUE.get(code)
    if entry is None:
        raise NotFound(f"No problem type {code!r}.", code="problem_not_found")
    headers = {"Cache-Control": "public, max-age=86400"}
    if _wants_html(request):
        page = _PAGE.format(
            code=html.escape(code),
            status=entry.status,
            title=html.escape(entry.title),
            meaning=html.escape(entry.meaning),
        )
        return HTMLResponse(page, headers={**headers, "Vary": "Accept"})
    body = ProblemType(code=code, status=entry.status, title=entry.title, meaning=entry.meaning)
    return Response(body.model_dump_json(), media_type="application/json", headers={**headers, "Vary": "Accept"})
