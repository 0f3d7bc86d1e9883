"""Open311 GeoReport v2 (开放311接口): our categories as services, residents' requests as issues.

Decisions, documented on the routes as well:

* **Jurisdiction**: ``jurisdiction_id`` is the code of a district (区/县). It may be left out while
  the deployment has a single district; with more than one it is required (400). Unknown → 404.
* **Services**: every active category is a service (``service_code`` = category code,
  ``service_name`` = its Chinese name, ``group`` = the parent category's name, ``type`` =
  ``realtime``). Services that ask extra questions have ``metadata`` true: facilities (设施, and
  their children) need ``location_detail``; safety hazards (安全隐患) offer ``hazard_type``.
* **Ids**: ``service_request_id`` is the issue number (``T01-20261123-000001``), the one residents
  read out on the phone; ``GET requests/{id}`` also takes the issue's UUID. Requests get their id
  at once, so ``POST`` never returns a token; ``GET tokens/{token}`` accepts the issue UUID as a
  token and answers with its number.
* **Status**: ``closed`` when the matter is settled from the requester's view — resolved (已办结),
  verified, closed, rejected (不予受理) or merged into another request; ``open`` otherwise,
  including after 重办. ``status_notes`` is the resolution once resolved, otherwise the Chinese
  status label. ``agency_responsible`` is the assigned unit, else the area (grid, community …)
  handling it. ``expected_datetime`` is the resolve deadline.
* **What is public**: ``GET requests`` lists the requests filed through Open311 in the
  jurisdiction, never the reporter's name or phone. Issues that came in through other channels
  (patrols, the hotline, petitions) are staff records about residents and are not published.
* **Creating**: ``POST requests`` needs an integration API key as ``api_key`` (else 403); the
  request becomes an issue through the same ``create_issue`` as every channel (``open311``, kind
  ``help`` 求助), routed like hotline tickets (:func:`app.issues.routing.route`) inside the key's
  area. ``Idempotency-Key`` is honoured.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import principal_for_api_key
from app.auth.roles import Role
from app.config import Settings
from app.errors import Unauthorized
from app.grids import repository as areas
from app.grids.models import Area
from app.integrations.open311 import repository
from app.integrations.open311.format import (
    MAX_REQUESTS,
    Attribute,
    AttributeValue,
    Open311Error,
    Open311PostRequest,
    PostedRequest,
    RequestListFilters,
    RequestStatus,
    RequestToken,
    Service,
    ServiceDefinition,
    ServiceRequest,
)
from app.integrations.open311.models import Open311Request
from app.issues import intake, routing
from app.issues import schemas as issue_schemas
from app.issues.models import Category
from app.issues.workflow import STATUS_LABELS, Channel, Kind, Status
from app.scope import Principal, path_within

CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.VERIFIED, Status.CLOSED, Status.REJECTED, Status.MERGED})
OPEN_STATUSES = frozenset(Status) - CLOSED_STATUSES
SETTLED_STATUSES = frozenset({Status.RESOLVED, Status.VERIFIED, Status.CLOSED})
PHONE = re.compile(r"^[0-9+\- ]{3,32}$")
TITLE_LENGTH = 40

LOCATION_DETAIL = Attribute(
    code="location_detail",
    datatype="string",
    description="具体位置(楼栋、单元、路段或设施编号)",
    datatype_description="例如:3号楼2单元门口第二盏路灯",
    order=1,
    required=True,
)
HAZARD_TYPE = Attribute(
    code="hazard_type",
    datatype="singlevaluelist",
    description="隐患类型",
    order=1,
    required=False,
    values=(
        AttributeValue("fire_exit_blocked", "消防通道堵塞"),
        AttributeValue("indoor_ev_charging", "电动车入户充电"),
        AttributeValue("gas", "燃气隐患"),
        AttributeValue("other", "其他"),
    ),
)
SERVICE_ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "facility": (LOCATION_DETAIL,),
    "safety_hazard": (HAZARD_TYPE,),
}
"""Attributes per category; a child category inherits its parent's."""


def _attributes_of(category: Category) -> tuple[Attribute, ...]:
    return SERVICE_ATTRIBUTES.get(category.code) or SERVICE_ATTRIBUTES.get(category.parent_code or "", ())


# --- jurisdiction and services ----------------------------------------------------------------


async def jurisdiction(session: AsyncSession, jurisdiction_id: str | None) -> Area:
    if jurisdiction_id:
        found = await repository.district_by_code(session, jurisdiction_id)
        if found is None:
            raise Open311Error(404, f"Unknown jurisdiction_id {jurisdiction_id!r}.")
        return found
    districts = await repository.districts(session)
    if len(districts) == 1:
        return districts[0]
    if not districts:
        raise Open311Error(404, "No jurisdiction is configured.")
    raise Open311Error(400, "jurisdiction_id is required: this service covers more than one district.")


async def services(session: AsyncSession) -> list[Service]:
    categories = await repository.active_categories(session)
    names = {c.code: c.name for c in categories}
    return [
        Service(
            service_code=c.code,
            service_name=c.name,
            description=None,
            metadata=bool(_attributes_of(c)),
            type="realtime",
            group=names.get(c.parent_code or "", c.name),
        )
        for c in categories
    ]


async def _category(session: AsyncSession, code: str) -> Category:
    for c in await repository.active_categories(session):
        if c.code == code:
            return c
    raise Open311Error(404, f"Unknown service_code {code!r}.")


async def service_definition(session: AsyncSession, code: str) -> ServiceDefinition:
    return ServiceDefinition(code, _attributes_of(await _category(session, code)))


# --- reading requests -------------------------------------------------------------------------


def _status_notes(row: repository.Row) -> str | None:
    status = Status(row.issue.status)
    if status in SETTLED_STATUSES and row.issue.resolution:
        return row.issue.resolution
    return STATUS_LABELS[status]


def _request_of(row: repository.Row, tz: ZoneInfo) -> ServiceRequest:
    issue = row.issue
    status: RequestStatus = "closed" if Status(issue.status) in CLOSED_STATUSES else "open"
    return ServiceRequest(
        service_request_id=issue.number,
        status=status,
        status_notes=_status_notes(row),
        service_name=row.service_name,
        service_code=issue.category,
        description=issue.description or issue.title,
        agency_responsible=row.unit_name or row.area_name,
        requested_datetime=issue.created_at.astimezone(tz),
        updated_datetime=issue.updated_at.astimezone(tz),
        expected_datetime=issue.resolve_due_at.astimezone(tz),
        address=issue.address,
        lat=issue.lat,
        long=issue.lng,
        media_url=row.media_url,
    )


async def list_requests(
    session: AsyncSession, settings: Settings, district: Area, f: RequestListFilters
) -> list[ServiceRequest]:
    tz = ZoneInfo(settings.timezone)
    if f.service_request_id:
        rows = await repository.by_ids(session, district.id, f.service_request_id, MAX_REQUESTS)
    else:
        assert f.start_date is not None and f.end_date is not None
        statuses: list[str] | None = None
        if f.status and set(f.status) != {"open", "closed"}:
            chosen = CLOSED_STATUSES if f.status == ("closed",) else OPEN_STATUSES
            statuses = sorted(s.value for s in chosen)
        rows = await repository.listed(
            session,
            district.id,
            start=f.start_date,
            end=f.end_date,
            service_codes=f.service_code,
            statuses=statuses,
            limit=min(f.limit, MAX_REQUESTS),
        )
    return [_request_of(r, tz) for r in rows]


async def get_request(session: AsyncSession, settings: Settings, district: Area, request_id: str) -> ServiceRequest:
    rows = await repository.by_ids(session, district.id, [request_id], 1)
    if not rows:
        raise Open311Error(404, f"No service request {request_id!r} in this jurisdiction.")
    return _request_of(rows[0], ZoneInfo(settings.timezone))


async def token(session: AsyncSession, district: Area, value: str) -> RequestToken:
    try:
        issue_id = uuid.UUID(value)
    except ValueError:
        raise Open311Error(404, f"Unknown token {value!r}.") from None
    rows = await repository.by_ids(session, district.id, [str(issue_id)], 1)
    if not rows:
        raise Open311Error(404, f"Unknown token {value!r}.")
    return RequestToken(token=value, service_request_id=rows[0].issue.number)


# --- creating requests ------------------------------------------------------------------------


async def api_key_principal(session: AsyncSession, api_key: str | None) -> Principal:
    """The integration behind ``api_key`` (403 Open311 error otherwise)."""
    if not api_key:
        raise Open311Error(403, "api_key is required to submit a service request.")
    try:
        principal = await principal_for_api_key(session, api_key)
    except Unauthorized:
        raise Open311Error(403, "The api_key is not valid.") from None
    if principal.role is not Role.INTEGRATION:
        raise Open311Error(403, "The api_key is not an integration key.")
    return principal


async def _home_within(session: AsyncSession, principal: Principal, district: Area) -> Area:
    """The area requests from this key are routed in: the key's area, or the district if the key
    reaches wider."""
    if path_within(principal.area_path, district.path):
        home = await areas.get_unscoped(session, principal.area_id)
        assert home is not None
        return home
    if path_within(district.path, principal.area_path):
        return district
    raise Open311Error(403, "This api_key does not serve this jurisdiction.")


def _check_attributes(
    definition: Sequence[Attribute], given: Mapping[str, str | list[str]]
) -> dict[str, str | list[str]]:
    kept: dict[str, str | list[str]] = {}
    for attribute in definition:
        value = given.get(attribute.code)
        if value is None:
            if attribute.required:
                raise Open311Error(400, f"attribute[{attribute.code}] is required for this service.")
            continue
        values = [value] if isinstance(value, str) else value
        if attribute.values:
            keys = {str(v.key) for v in attribute.values}
            if any(v not in keys for v in values):
                raise Open311Error(400, f"attribute[{attribute.code}] must be one of: {', '.join(sorted(keys))}.")
        kept[attribute.code] = value
    return kept


def _description(form: Open311PostRequest, definition: Sequence[Attribute], kept: Mapping[str, str | list[str]]) -> str:
    lines = [form.description] if form.description else []
    for attribute in definition:
        if attribute.code in kept:
            value = kept[attribute.code]
            names = {str(v.key): v.name for v in attribute.values}
            shown = [names.get(v, v) for v in ([value] if isinstance(value, str) else value)]
            lines.append(f"{attribute.description}:{'、'.join(shown)}")
    return "\n".join(lines)[:5000]


async def post_request(
    session: AsyncSession, settings: Settings, principal: Principal, district: Area, form: Open311PostRequest
) -> PostedRequest:
    category = await _category(session, form.service_code)
    definition = _attributes_of(category)
    kept = _check_attributes(definition, form.attributes)
    if form.phone is not None and not PHONE.fullmatch(form.phone):
        raise Open311Error(400, "phone must be digits (with + - or spaces allowed).")
    home = await _home_within(session, principal, district)
    address = form.address_string or form.address_id
    routed = await routing.route(session, home, lat=form.lat, lng=form.long, address=address)
    if routed is None:
        raise Open311Error(400, "The location lies outside the area this api_key serves in the jurisdiction.")
    name = "".join(p for p in (form.last_name, form.first_name) if p) or None
    description = _description(form, definition, kept)
    first_line = (form.description or "").strip().splitlines()[0] if form.description else ""
    body = issue_schemas.IssueCreate(
        title=first_line[:TITLE_LENGTH] or category.name,
        description=description,
        kind=Kind.HELP,
        category=category.code,
        channel=Channel.OPEN311,
        area_id=routed.area_id,
        location=issue_schemas.Location(lat=form.lat, lng=form.long) if form.lat is not None else None,
        address=address[:300] if address else None,
        reporter=issue_schemas.Reporter(name=name[:100] if name else None, phone=form.phone)
        if name or form.phone
        else None,
    )
    issue = await intake.create_issue(session, principal, settings, body)
    session.add(
        Open311Request(
            issue_id=issue.id,
            district_id=district.id,
            api_key_id=principal.api_key_id,
            service_code=category.code,
            attributes=kept,
            media_url=form.media_url[:1000] if form.media_url else None,
            created_at=issue.created_at,
        )
    )
    await session.flush()
    due = issue.resolve_due_at.astimezone(ZoneInfo(settings.timezone))
    return PostedRequest(
        service_request_id=issue.number,
        service_notice=f"诉求已登记,编号 {issue.number},预计 {due:%Y-%m-%d %H:%M} 前办结。",
        account_id=form.account_id,
    )
