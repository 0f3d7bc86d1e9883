"""/api/v1/volunteers, /service-records, /ledger, /shop, /timebank, /wishes, /pairings and the public
wish wall — volunteers and the community life around them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse

from app.auth.deps import SettingsDep, require_roles
from app.db import SessionDep
from app.errors import problem_responses
from app.kit import clock, idempotency
from app.kit.etag import IfMatch, OptionalIfMatch, created, etag_of, tagged, write_if_match
from app.kit.idempotency import KeyHeader
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.ratelimit import rate_limit
from app.kit.routing import Router
from app.kit.schemas import Page
from app.kit.tokens import BIGINT, timestamp
from app.residents.schemas import RevealIn
from app.scope import Principal
from app.volunteers import pages, pairings, service, shop, timebank, wishes, workflow
from app.volunteers.models import Frequency, RecordStatus, TimebankStatus, VolunteerKind, WishCategory, WishStatus
from app.volunteers.schemas import (
    BalanceOut,
    ClaimIn,
    ConfirmIn,
    DonationIn,
    DuePairingsOut,
    EntryOut,
    FulfilIn,
    GrantIn,
    ItemCreate,
    PairingCreate,
    PairingOut,
    PostingOut,
    RankingOut,
    RecordCreate,
    RecordOut,
    RedeemIn,
    RedemptionOut,
    RejectIn,
    ReverseIn,
    RulesIn,
    RulesOut,
    ShopItemOut,
    StatementOut,
    TimebankCreate,
    TimebankOut,
    VisitBatchOut,
    VisitIn,
    VisitOut,
    VolunteerCreate,
    VolunteerOut,
    VolunteerRevealed,
    VolunteerUpdate,
    WallOut,
    WishCreate,
    WishOut,
    WishStatsOut,
)

router = Router(prefix="/api/v1", tags=["volunteers"], responses=problem_responses(403))
public_router = Router(tags=["volunteers"])
Staff = Annotated[Principal, Depends(require_roles(*sorted(service.STAFF)))]
Verifier = Annotated[Principal, Depends(require_roles(*sorted(service.VERIFIERS)))]
Reader = Annotated[Principal, Depends(require_roles(*sorted(service.READERS)))]
ACTION_ERRORS = problem_responses(404, 409, 412, 422)
POSTING_DOC = " Moves points or hours in the ledger: " + idempotency.POLICY_DOC
YearQuery = Annotated[int | None, Query(ge=2000, le=2100, description="default: this year (Asia/Shanghai)")]
# The wall's JSON and page share one counter per client address.
WALL_LIMIT = Depends(rate_limit("wish_wall", "rate_limit_wish_wall", 60))
WALL_LIMIT_DOC = (
    " At most `MINQING_RATE_LIMIT_WISH_WALL` requests a minute per client address (429 with `Retry-After`)."
)


async def _idempotent(
    request: Request,
    session: SessionDep,
    principal: Principal,
    key: str | None,
    status_code: int,
    produce: Callable[[], Awaitable[Any]],
    *,
    versioned: bool = False,
) -> Response:
    """Answer with what ``produce`` makes, once per ``Idempotency-Key`` (when sent): a retry replays
    the first answer. ``versioned``: the answer is a versioned row's, sent with its ETag."""

    async def respond() -> Response:
        body = await produce()
        headers = {"ETag": etag_of(body.version)} if versioned else None
        return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)

    return await idempotency.once(session, request, principal.idempotency_owner, key, respond)


def _this_year() -> int:
    return workflow.local_day(clock.now()).year


# --- volunteers -----------------------------------------------------------------------------------


async def _volunteer_out(session: SessionDep, principal: Principal, volunteer: Any, settings: Any) -> VolunteerOut:
    return (await service.volunteer_outs(session, principal, [volunteer], settings))[0]


@router.post(
    "/volunteers",
    status_code=201,
    response_model=VolunteerOut,
    operation_id="volunteers_create",
    summary="Register a volunteer (志愿者登记)",
    description="Residents, Party members (在职党员 / 双报到), cadres, students, teams and units, with skills "
    "and a talent category (人才信息库) and availability. `consent: true` records the volunteer's consent; the "
    "phone is stored encrypted and always answered masked.",
)
async def create_volunteer(
    body: VolunteerCreate, session: SessionDep, principal: Staff, settings: SettingsDep, response: Response
) -> Any:
    volunteer = await service.create_volunteer(session, principal, body.model_dump(), settings)
    out = await _volunteer_out(session, principal, volunteer, settings)
    return created(response, f"/api/v1/volunteers/{volunteer.id}", out, volunteer)


@router.get(
    "/volunteers",
    response_model=Page[VolunteerOut],
    operation_id="volunteers_list",
    summary="Volunteers in your area (志愿者名册 / 人才信息库)",
    description="Newest first. Filters: `area_id` (subtree), `kind`, `talent_category`, `skill`, `phone` "
    "(exact, through the blind index), `q` (name).",
)
async def list_volunteers(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    kind: VolunteerKind | None = None,
    talent_category: Annotated[str | None, Query(max_length=50)] = None,
    skill: Annotated[str | None, Query(max_length=50)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    filters = {
        "area_id": area_id,
        "kind": kind.value if kind else None,
        "talent_category": talent_category,
        "skill": skill,
        "phone": phone,
        "q": q,
    }
    keys = Keyset.open(settings, principal, "volunteers", cursor)
    rows = await service.list_volunteers(
        session, principal, filters=filters, settings=settings, after=keys.after, limit=limit
    )
    items, nxt = keys.page(rows, limit)
    return Page[VolunteerOut](items=await service.volunteer_outs(session, principal, items, settings), next_cursor=nxt)


@router.get(
    "/volunteers/rankings",
    response_model=RankingOut,
    operation_id="volunteers_rankings",
    summary="Volunteer rankings (实践之星)",
    description="Volunteers of your area (or `area_id`'s subtree) ranked by verified `hours` or `times` served "
    "in a `year` (Asia/Shanghai).",
)
async def rankings(
    session: SessionDep,
    principal: Reader,
    area_id: uuid.UUID | None = None,
    year: YearQuery = None,
    by: Literal["hours", "times"] = "hours",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Any:
    year = year or _this_year()
    rows = await service.rankings(session, principal, area_id=area_id, year=year, by=by, limit=limit)
    return RankingOut(year=year, by=by, rows=rows)  # type: ignore[arg-type]


@router.get(
    "/volunteers/{volunteer_id}",
    response_model=VolunteerOut,
    operation_id="volunteers_get",
    summary="A volunteer with their balances (志愿者详情)",
    description="404 when outside your area. The `ETag` is the registration's version, for `If-Match` on PATCH; "
    "the balances move with the ledger, so the answer is never a 304.",
    responses=problem_responses(404),
)
async def get_volunteer(
    volunteer_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep, response: Response
) -> Any:
    volunteer = await service.get_volunteer(session, principal, volunteer_id)
    return tagged(response, volunteer, await _volunteer_out(session, principal, volunteer, settings))


@router.patch(
    "/volunteers/{volunteer_id}",
    response_model=VolunteerOut,
    operation_id="volunteers_update",
    summary="Change a volunteer's registration (修改志愿者信息)",
    description="Requires `If-Match` with the volunteer's version (428 without, 412 when stale).",
    responses=problem_responses(404, 412, 428),
)
async def update_volunteer(
    volunteer_id: uuid.UUID,
    body: VolunteerUpdate,
    session: SessionDep,
    principal: Staff,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    volunteer = await service.get_volunteer(session, principal, volunteer_id, for_update=True)
    write_if_match(volunteer, if_match)
    volunteer = await service.update_volunteer(session, volunteer, body.model_dump(exclude_unset=True), settings)
    return tagged(response, volunteer, await _volunteer_out(session, principal, volunteer, settings))


@router.post(
    "/volunteers/{volunteer_id}/reveal",
    response_model=VolunteerRevealed,
    operation_id="volunteers_reveal",
    summary="Reveal a volunteer's name and phone (查看明文)",
    description="Returns the clear values and writes an audit row with your `reason` in the same transaction.",
    responses=problem_responses(404),
)
async def reveal_volunteer(
    volunteer_id: uuid.UUID, body: RevealIn, session: SessionDep, principal: Staff, settings: SettingsDep
) -> Any:
    return await service.reveal(session, principal, volunteer_id, body.reason, settings)


@router.get(
    "/volunteers/{volunteer_id}/balance",
    response_model=BalanceOut,
    operation_id="volunteers_balance",
    summary="A volunteer's points and hours (积分与时长余额)",
    description="Each balance is the sum of the volunteer's ledger entries.",
    responses=problem_responses(404),
)
async def balance(volunteer_id: uuid.UUID, session: SessionDep, principal: Reader) -> Any:
    volunteer = await service.get_volunteer(session, principal, volunteer_id)
    sums = (await service.ledger.balances(session, [volunteer.id]))[volunteer.id]
    return BalanceOut(
        volunteer_id=volunteer.id, points=sums["points"], minutes=sums["minutes"], hours=service.hours(sums["minutes"])
    )


@router.get(
    "/volunteers/{volunteer_id}/ledger",
    response_model=Page[EntryOut],
    operation_id="volunteers_ledger",
    summary="A volunteer's ledger entries (积分明细)",
    description="Newest first; `minutes` entries are hours of service.",
    responses=problem_responses(404),
)
async def volunteer_ledger(
    volunteer_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    volunteer = await service.get_volunteer(session, principal, volunteer_id)
    shape = (timestamp, BIGINT)
    keys = Keyset.open(settings, principal, "volunteers.ledger", cursor, shape, within=(str(volunteer.id),))
    rows = await service.ledger_page(session, volunteer, after=keys.after, limit=limit)
    return keys.answer(rows, limit, lambda r: r[0], key=lambda r: list(r[1]))


@router.post(
    "/volunteers/{volunteer_id}/grants",
    status_code=201,
    response_model=PostingOut,
    operation_id="volunteers_grant",
    summary="Award points (奖励积分)",
    description="Points from the community's source account, with a memo (an activity, a commendation)." + POSTING_DOC,
    responses=ACTION_ERRORS,
)
async def grant(
    volunteer_id: uuid.UUID,
    body: GrantIn,
    request: Request,
    session: SessionDep,
    principal: Verifier,
    idempotency_key: KeyHeader = None,
) -> Any:
    async def produce() -> Any:
        volunteer = await service.get_volunteer(session, principal, volunteer_id)
        posting = await service.grant(session, principal, volunteer, body.points, body.memo)
        return await service.posting_out(session, posting)

    return await _idempotent(request, session, principal, idempotency_key, 201, produce)


@router.get(
    "/volunteers/{volunteer_id}/statement",
    response_model=StatementOut,
    operation_id="volunteers_statement",
    summary="A volunteer's yearly statement (年度积分对账单)",
    description="Opening and closing balances, what was earned and spent, verified services and every entry of "
    "the `year` (Asia/Shanghai).",
    responses=problem_responses(404),
)
async def statement(
    volunteer_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep, year: YearQuery = None
) -> Any:
    return await _statement(session, principal, settings, volunteer_id, year)


@router.get(
    "/volunteers/{volunteer_id}/statement.html",
    response_class=HTMLResponse,
    operation_id="volunteers_statement_page",
    summary="A volunteer's yearly statement, printable (年度对账单打印页)",
    description="The statement as a self-contained HTML page for printing.",
    responses={**problem_responses(404), 200: {"content": {"text/html": {}}}},
)
async def statement_page(
    volunteer_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep, year: YearQuery = None
) -> HTMLResponse:
    out = await _statement(session, principal, settings, volunteer_id, year)
    return HTMLResponse(pages.statement_html(out), headers=pages.HEADERS)


async def _statement(
    session: SessionDep, principal: Principal, settings: Any, volunteer_id: uuid.UUID, year: int | None
) -> StatementOut:
    volunteer = await service.get_volunteer(session, principal, volunteer_id)
    data = await service.statement(session, volunteer, year or _this_year())
    return StatementOut(volunteer=await _volunteer_out(session, principal, volunteer, settings), **data)


# --- rules ----------------------------------------------------------------------------------------


@router.get(
    "/volunteer-rules/{area_id}",
    response_model=RulesOut,
    operation_id="volunteer_rules_get",
    summary="The ledger rules of an area (积分规则)",
    description="Points per hour by activity type, the daily cap, the wish claim period and points; an area "
    "without its own rules inherits its nearest ancestor's (`inherited: true`), else the defaults.",
    responses=problem_responses(404),
)
async def get_rules(area_id: uuid.UUID, session: SessionDep, principal: Reader) -> Any:
    from app.grids import service as grids

    area = await grids.get_in_scope(session, principal, area_id)
    return await service.rules_for(session, area.id)


@router.put(
    "/volunteer-rules/{area_id}",
    response_model=RulesOut,
    operation_id="volunteer_rules_put",
    summary="Set the ledger rules of an area (设置积分规则)",
    description="Applies to the area's subtree unless a descendant has its own. Changes count from now on: "
    "postings already made stay as they are.",
    responses=problem_responses(404, 422),
)
async def put_rules(area_id: uuid.UUID, body: RulesIn, session: SessionDep, principal: Verifier) -> Any:
    return await service.put_rules(session, principal, area_id, body.model_dump())


# --- service records ------------------------------------------------------------------------------


@router.post(
    "/service-records",
    status_code=201,
    response_model=RecordOut,
    operation_id="service_records_create",
    summary="Submit a service record (提交服务记录)",
    description="Hours of a volunteer for an activity (optionally a wish or a pairing), submitted by the team or "
    "staff; they count once verified. One volunteer's records may not overlap (409 `record_overlaps`) and a day "
    "(Asia/Shanghai) holds at most the community's `daily_cap_minutes` (422 `daily_cap_exceeded`).",
    responses=problem_responses(409, 422),
)
async def create_record(body: RecordCreate, session: SessionDep, principal: Staff, response: Response) -> Any:
    record = await service.create_record(session, principal, body.model_dump())
    return created(response, f"/api/v1/service-records/{record.id}", service.record_out(record), record)


@router.get(
    "/service-records",
    response_model=Page[RecordOut],
    operation_id="service_records_list",
    summary="Service records in your area (服务记录)",
    description="Newest first. Filters: `volunteer_id`, `status`.",
)
async def list_records(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    volunteer_id: uuid.UUID | None = None,
    status: RecordStatus | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    keys = Keyset.open(settings, principal, "service_records", cursor)
    filters = {"volunteer_id": volunteer_id, "status": status.value if status else None}
    rows = await service.list_records(session, principal, filters=filters, after=keys.after, limit=limit)
    return keys.answer(rows, limit, service.record_out)


@router.get(
    "/service-records/{record_id}",
    response_model=RecordOut,
    operation_id="service_records_get",
    summary="A service record (服务记录详情)",
    description="404 when outside your area.",
    responses=problem_responses(404),
)
async def get_record(record_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response) -> Any:
    record = await service.get_record(session, principal, record_id)
    return tagged(response, record, service.record_out(record))


@router.post(
    "/service-records/{record_id}/verify",
    response_model=RecordOut,
    operation_id="service_records_verify",
    summary="Verify a service record (核实)",
    description="The record counts: its hours and the points the community's rules give them move to the "
    "volunteer. Community and street administrators." + POSTING_DOC,
    responses=ACTION_ERRORS,
)
async def verify_record(
    record_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Verifier,
    if_match: OptionalIfMatch = None,
    idempotency_key: KeyHeader = None,
) -> Any:
    async def produce() -> Any:
        record = await service.get_record(session, principal, record_id, for_update=True)
        write_if_match(record, if_match, required=False)
        return service.record_out(await service.verify_record(session, principal, record))

    return await _idempotent(request, session, principal, idempotency_key, 200, produce, versioned=True)


@router.post(
    "/service-records/{record_id}/reject",
    response_model=RecordOut,
    operation_id="service_records_reject",
    summary="Reject a service record (核实未通过)",
    description="With a `reason`; nothing is posted.",
    responses=ACTION_ERRORS,
)
async def reject_record(
    record_id: uuid.UUID,
    body: RejectIn,
    session: SessionDep,
    principal: Verifier,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> Any:
    record = await service.get_record(session, principal, record_id, for_update=True)
    write_if_match(record, if_match, required=False)
    record = await service.reject_record(session, principal, record, body.reason)
    return tagged(response, record, service.record_out(record))


# --- ledger ---------------------------------------------------------------------------------------


@router.get(
    "/ledger/postings/{posting_id}",
    response_model=PostingOut,
    operation_id="ledger_posting_get",
    summary="A ledger posting with its entries (记账凭证)",
    description="404 when outside your area.",
    responses=problem_responses(404),
)
async def get_posting(posting_id: uuid.UUID, session: SessionDep, principal: Reader) -> Any:
    return await service.posting_out(session, await service.get_posting(session, principal, posting_id))


@router.post(
    "/ledger/postings/{posting_id}/reverse",
    status_code=201,
    response_model=PostingOut,
    operation_id="ledger_posting_reverse",
    summary="Reverse a posting (冲正)",
    description="The ledger is append-only: a correction is a new posting with every entry negated. A posting is "
    "reversed once (409 `already_reversed`); a reversal that would take a balance below zero — the points were "
    "spent — is 409 `insufficient_balance`." + POSTING_DOC,
    responses=ACTION_ERRORS,
)
async def reverse_posting(
    posting_id: uuid.UUID,
    body: ReverseIn,
    request: Request,
    session: SessionDep,
    principal: Verifier,
    idempotency_key: KeyHeader = None,
) -> Any:
    async def produce() -> Any:
        posting = await service.get_posting(session, principal, posting_id)
        return await service.posting_out(session, await service.ledger.reverse(session, principal, posting, body.memo))

    return await _idempotent(request, session, principal, idempotency_key, 201, produce)


# --- 爱心超市 ---------------------------------------------------------------------------------------


@router.post(
    "/shop/items",
    status_code=201,
    response_model=ShopItemOut,
    operation_id="shop_items_create",
    summary="Add an item to the charity shop (爱心超市上架)",
    description="An item of a community's shop with its price in points and its opening stock.",
)
async def create_item(body: ItemCreate, session: SessionDep, principal: Verifier, response: Response) -> Any:
    item = await shop.create_item(session, principal, body.model_dump())
    return created(response, f"/api/v1/shop/items/{item.id}", ShopItemOut.model_validate(item))


@router.get(
    "/shop/items",
    response_model=Page[ShopItemOut],
    operation_id="shop_items_list",
    summary="The charity shop's catalogue (爱心超市商品)",
    description="Newest first; `area_id` limits to an area's subtree.",
)
async def list_items(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    keys = Keyset.open(settings, principal, "shop_items", cursor)
    rows = await shop.list_items(session, principal, area_id=area_id, after=keys.after, limit=limit)
    return keys.answer(rows, limit, ShopItemOut.model_validate)


@router.post(
    "/shop/items/{item_id}/donations",
    response_model=ShopItemOut,
    operation_id="shop_items_donate",
    summary="Record a donation (物资捐赠入库)",
    description="Goods given by a unit or a resident are recorded with the donor and added to the stock.",
    responses=problem_responses(404),
)
async def donate(item_id: uuid.UUID, body: DonationIn, session: SessionDep, principal: Staff) -> Any:
    item = await shop.get_item(session, principal, item_id)
    return ShopItemOut.model_validate(await shop.donate(session, principal, item, body.model_dump()))


@router.post(
    "/shop/redemptions",
    status_code=201,
    response_model=RedemptionOut,
    operation_id="shop_redeem",
    summary="Redeem points for an item (积分兑换)",
    description="Takes the points and the stock in one transaction: 409 `insufficient_balance` when the "
    "volunteer's points do not cover it, 409 `out_of_stock` when the stock does not; neither ever goes "
    "below zero, however many clients race." + POSTING_DOC,
    responses=problem_responses(409, 422),
)
async def redeem(
    body: RedeemIn,
    request: Request,
    session: SessionDep,
    principal: Staff,
    idempotency_key: KeyHeader = None,
) -> Any:
    async def produce() -> Any:
        return RedemptionOut(**await shop.redeem(session, principal, body.model_dump()))

    return await _idempotent(request, session, principal, idempotency_key, 201, produce)


# --- time bank ------------------------------------------------------------------------------------


async def _tb(produce: Awaitable[Any]) -> Any:
    return timebank.out(await produce)


async def _settle(
    request: Request,
    session: SessionDep,
    principal: Principal,
    request_id: uuid.UUID,
    key: str | None,
    settle: Callable[[Any, Principal, Any], Awaitable[Any]],
) -> Response:
    """Confirm or cancel a time-bank request (``settle``), once per ``Idempotency-Key``."""

    async def produce() -> Any:
        req = await timebank.get(session, principal, request_id, for_update=True)
        return await _tb(settle(session, principal, req))

    return await _idempotent(request, session, principal, key, 200, produce)


@router.post(
    "/timebank/requests",
    status_code=201,
    response_model=TimebankOut,
    operation_id="timebank_create",
    summary="Ask for a service with hours (幸福交换站: 发布需求)",
    description="The requester's hours (`minutes`) are held until the service is confirmed or the request "
    "cancelled; 409 `insufficient_balance` when they do not have them." + POSTING_DOC,
    responses=problem_responses(409, 422),
)
async def create_timebank(
    body: TimebankCreate,
    request: Request,
    session: SessionDep,
    principal: Staff,
    idempotency_key: KeyHeader = None,
) -> Any:
    async def produce() -> Any:
        return await _tb(timebank.create(session, principal, body.model_dump()))

    return await _idempotent(request, session, principal, idempotency_key, 201, produce)


@router.get(
    "/timebank/requests",
    response_model=Page[TimebankOut],
    operation_id="timebank_list",
    summary="Time-bank requests in your area (幸福交换站)",
    description="Newest first; filter by `status`.",
)
async def list_timebank(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    status: TimebankStatus | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    keys = Keyset.open(settings, principal, "timebank", cursor)
    rows = await timebank.list_requests(
        session, principal, status=status.value if status else None, after=keys.after, limit=limit
    )
    return keys.answer(rows, limit, timebank.out)


@router.post(
    "/timebank/requests/{request_id}/claim",
    response_model=TimebankOut,
    operation_id="timebank_claim",
    summary="Claim a time-bank request (认领服务)",
    description="Another volunteer takes the request on.",
    responses=ACTION_ERRORS,
)
async def claim_timebank(request_id: uuid.UUID, body: ClaimIn, session: SessionDep, principal: Staff) -> Any:
    req = await timebank.get(session, principal, request_id, for_update=True)
    return await _tb(timebank.claim(session, principal, req, body.volunteer_id))


@router.post(
    "/timebank/requests/{request_id}/confirm",
    response_model=TimebankOut,
    operation_id="timebank_confirm",
    summary="Confirm the service was given (确认服务)",
    description="By the requester, or staff for them: the held hours move to the claimer." + POSTING_DOC,
    responses=ACTION_ERRORS,
)
async def confirm_timebank(
    request_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Staff,
    idempotency_key: KeyHeader = None,
) -> Any:
    return await _settle(request, session, principal, request_id, idempotency_key, timebank.confirm)


@router.post(
    "/timebank/requests/{request_id}/cancel",
    response_model=TimebankOut,
    operation_id="timebank_cancel",
    summary="Cancel a time-bank request (撤销需求)",
    description="The held hours go back to the requester." + POSTING_DOC,
    responses=ACTION_ERRORS,
)
async def cancel_timebank(
    request_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Staff,
    idempotency_key: KeyHeader = None,
) -> Any:
    return await _settle(request, session, principal, request_id, idempotency_key, timebank.cancel)


# --- 微心愿 -----------------------------------------------------------------------------------------


async def _wish_out(session: SessionDep, wish: Any) -> WishOut:
    return (await wishes.outs(session, [wish]))[0]


async def _wish(session: SessionDep, response: Response, wish: Any) -> Any:
    return tagged(response, wish, await _wish_out(session, wish))


async def _wish_to_change(session: SessionDep, principal: Principal, wish_id: uuid.UUID, if_match: str | None) -> Any:
    """The wish an action changes, locked, with the client's ``If-Match`` (when sent) checked."""
    wish = await wishes.get(session, principal, wish_id, for_update=True)
    write_if_match(wish, if_match, required=False)
    return wish


@router.post(
    "/wishes",
    status_code=201,
    response_model=WishOut,
    operation_id="wishes_create",
    summary="Collect a small wish (收集微心愿)",
    description="A wish of a resident of the archive (低保户, 留守儿童, 空巢老人, 新市民 …) with a budget cap in yuan "
    "and a category.",
)
async def create_wish(body: WishCreate, session: SessionDep, principal: Staff, response: Response) -> Any:
    wish = await wishes.create(session, principal, body.model_dump())
    return created(response, f"/api/v1/wishes/{wish.id}", await _wish_out(session, wish), wish)


@router.get(
    "/wishes",
    response_model=Page[WishOut],
    operation_id="wishes_list",
    summary="Wishes in your area (微心愿)",
    description="Newest first. Filters: `area_id`, `status`, `category`, `claimer_id`, `resident_id`. Claims "
    "past their deadline have reopened.",
)
async def list_wishes(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    status: WishStatus | None = None,
    category: WishCategory | None = None,
    claimer_id: uuid.UUID | None = None,
    resident_id: uuid.UUID | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    filters = {
        "area_id": area_id,
        "status": status.value if status else None,
        "category": category.value if category else None,
        "claimer_id": claimer_id,
        "resident_id": resident_id,
    }
    keys = Keyset.open(settings, principal, "wishes", cursor)
    rows = await wishes.list_wishes(session, principal, filters=filters, after=keys.after, limit=limit)
    items, nxt = keys.page(rows, limit)
    return Page[WishOut](items=await wishes.outs(session, items), next_cursor=nxt)


@router.get(
    "/wishes/stats",
    response_model=WishStatsOut,
    operation_id="wishes_stats",
    summary="Wish statistics (微心愿统计)",
    description="Collected, claimed, fulfilled and the median days from collection to fulfilment, per "
    "community under `area_id` (default your home area) and rolled up.",
)
async def wish_stats(session: SessionDep, principal: Reader, area_id: uuid.UUID | None = None) -> Any:
    return await wishes.stats(session, principal, area_id)


@router.get(
    "/wishes/{wish_id}",
    response_model=WishOut,
    operation_id="wishes_get",
    summary="A wish (微心愿详情)",
    description="404 when outside your area.",
    responses=problem_responses(404),
)
async def get_wish(wish_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response) -> Any:
    return await _wish(session, response, await wishes.get(session, principal, wish_id))


@router.post(
    "/wishes/{wish_id}/claim",
    response_model=WishOut,
    operation_id="wishes_claim",
    summary="Claim a wish (认领微心愿)",
    description="By one volunteer, Party member or unit (a registered volunteer). Unfulfilled after the "
    "community's `wish_claim_days`, the claim expires and the wish reopens.",
    responses=ACTION_ERRORS,
)
async def claim_wish(
    wish_id: uuid.UUID,
    body: ClaimIn,
    session: SessionDep,
    principal: Staff,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> Any:
    wish = await _wish_to_change(session, principal, wish_id, if_match)
    return await _wish(session, response, await wishes.claim(session, principal, wish, body.volunteer_id))


@router.post(
    "/wishes/{wish_id}/fulfil",
    response_model=WishOut,
    operation_id="wishes_fulfil",
    summary="Record a wish as fulfilled (心愿送达)",
    description="With the reference of the hand-over photo (`proof_photo`).",
    responses=ACTION_ERRORS,
)
async def fulfil_wish(
    wish_id: uuid.UUID,
    body: FulfilIn,
    session: SessionDep,
    principal: Staff,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> Any:
    wish = await _wish_to_change(session, principal, wish_id, if_match)
    return await _wish(session, response, await wishes.fulfil(session, wish, body.proof_photo))


@router.post(
    "/wishes/{wish_id}/confirm",
    response_model=WishOut,
    operation_id="wishes_confirm",
    summary="Confirm a fulfilled wish (确认心愿达成)",
    description="By the grid worker or on the beneficiary's word (`by`); the claimer earns the community's "
    "`wish_points`." + POSTING_DOC,
    responses=ACTION_ERRORS,
)
async def confirm_wish(
    wish_id: uuid.UUID,
    body: ConfirmIn,
    request: Request,
    session: SessionDep,
    principal: Staff,
    if_match: OptionalIfMatch = None,
    idempotency_key: KeyHeader = None,
) -> Any:
    async def produce() -> Any:
        wish = await _wish_to_change(session, principal, wish_id, if_match)
        return await _wish_out(session, await wishes.confirm(session, principal, wish, body.by))

    return await _idempotent(request, session, principal, idempotency_key, 200, produce, versioned=True)


@router.post(
    "/wishes/{wish_id}/cancel",
    response_model=WishOut,
    operation_id="wishes_cancel",
    summary="Withdraw a wish (撤销微心愿)",
    description="An open or claimed wish.",
    responses=ACTION_ERRORS,
)
async def cancel_wish(
    wish_id: uuid.UUID, session: SessionDep, principal: Staff, response: Response, if_match: OptionalIfMatch = None
) -> Any:
    wish = await _wish_to_change(session, principal, wish_id, if_match)
    return await _wish(session, response, await wishes.cancel(session, wish))


@public_router.get(
    "/api/v1/public/wish-wall/{area_id}",
    dependencies=[WALL_LIMIT],
    response_model=WallOut,
    operation_id="wish_wall",
    summary="The public wish wall (幸福心愿站, no login)",
    description="Open and claimed wishes of an area's subtree, each as a masked name with one public label and "
    "the wish's title — no address, no details, no sensitive tag; wishes of residents whose data is "
    "sensitive are left off." + WALL_LIMIT_DOC,
    responses=problem_responses(404, 429),
)
async def wish_wall(area_id: uuid.UUID, session: SessionDep) -> Any:
    return await wishes.wall(session, area_id)


@public_router.get(
    "/wish-wall/{area_id}",
    dependencies=[WALL_LIMIT],
    response_class=HTMLResponse,
    operation_id="wish_wall_page",
    summary="The public wish wall as a page (心愿墙)",
    description="The wall as a self-contained HTML page (no login, nothing loaded from elsewhere)." + WALL_LIMIT_DOC,
    responses={**problem_responses(404, 429), 200: {"content": {"text/html": {}}}},
)
async def wish_wall_page(area_id: uuid.UUID, session: SessionDep) -> HTMLResponse:
    wall = WallOut(**await wishes.wall(session, area_id))
    return HTMLResponse(pages.wall_html(wall), headers=pages.HEADERS)


# --- 帮扶对子 ---------------------------------------------------------------------------------------


@router.post(
    "/pairings",
    status_code=201,
    response_model=PairingOut,
    operation_id="pairings_create",
    summary="Pair a helper with a household (结对帮扶)",
    description="A Party member, cadre or unit (a registered volunteer) with a household of the archive, and "
    "the visit duty: `weekly`, `monthly` or by the `festival`s. A household may have many helpers.",
    responses=problem_responses(409, 422),
)
async def create_pairing(body: PairingCreate, session: SessionDep, principal: Staff, response: Response) -> Any:
    pairing = await pairings.create(session, principal, body.model_dump())
    return created(response, f"/api/v1/pairings/{pairing.id}", pairings.out(pairing, pairings.today()))


@router.get(
    "/pairings",
    response_model=Page[PairingOut],
    operation_id="pairings_list",
    summary="Pairings in your area (帮扶对子)",
    description="Newest first, each with its next `due_on` and `duty` (`ok`, `due`, `overdue`; Asia/Shanghai). "
    "Filters: `area_id`, `household_id`, `helper_id`, `frequency`.",
)
async def list_pairings(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    area_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    helper_id: uuid.UUID | None = None,
    frequency: Frequency | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Any:
    filters = {
        "area_id": area_id,
        "household_id": household_id,
        "helper_id": helper_id,
        "frequency": frequency.value if frequency else None,
    }
    keys = Keyset.open(settings, principal, "pairings", cursor)
    rows = await pairings.list_pairings(session, principal, filters=filters, after=keys.after, limit=limit)
    day = pairings.today()
    return keys.answer(rows, limit, lambda p: pairings.out(p, day))


@router.get(
    "/pairings/due",
    response_model=DuePairingsOut,
    operation_id="pairings_due",
    summary="Pairings due or overdue for a visit (待走访结对)",
    description="Counts of `ok`, `due` and `overdue` pairings of your area (or `area_id`'s subtree) and the due "
    "and overdue ones, earliest due first. Weekly duties fall due 7 days after the last visit, monthly ones a "
    "calendar month after, festival ones on the next festival (春节, 端午, 中秋, 重阳); a duty is `due` from a "
    "few days before (2, 5, 7) and `overdue` after its day, counted in Asia/Shanghai days.",
)
async def due_pairings(session: SessionDep, principal: Reader, area_id: uuid.UUID | None = None) -> Any:
    return await pairings.due(session, principal, area_id=area_id)


@router.post(
    "/pairings/visits/batch",
    response_model=VisitBatchOut,
    operation_id="pairings_visits_batch",
    summary="Upload visits in a batch (走访记录批量上传)",
    description=f"A JSON array of up to {pairings.MAX_BATCH} visits written offline, each with a client-generated "
    "`id` and its `pairing_id`. Each item gets its own verdict in `results`: `created`, `unchanged` (the same id "
    "again: re-sending is safe) or `invalid` (with `code` and `errors`). Valid items are stored even when others "
    "are invalid.",
)
async def batch_visits(
    session: SessionDep,
    principal: Staff,
    items: Annotated[list[Any], Body(examples=[[{"id": "019a…", "pairing_id": "…", "visited_at": "…"}]])],
) -> Any:
    results = await pairings.batch_visits(session, principal, items)
    counts = dict.fromkeys(("created", "unchanged", "invalid"), 0)
    for r in results:
        counts[r.status] += 1
    return VisitBatchOut(results=results, counts=counts)


@router.get(
    "/pairings/{pairing_id}",
    response_model=PairingOut,
    operation_id="pairings_get",
    summary="A pairing (结对详情)",
    description="404 when outside your area.",
    responses=problem_responses(404),
)
async def get_pairing(pairing_id: uuid.UUID, session: SessionDep, principal: Reader) -> Any:
    return pairings.out(await pairings.get(session, principal, pairing_id), pairings.today())


@router.post(
    "/pairings/{pairing_id}/visits",
    status_code=201,
    response_model=VisitOut,
    operation_id="pairings_visit",
    summary="Record a visit (记录走访: 入户 / 电话)",
    description="A home visit or a phone call, optionally linking the diary entry it wrote or the issue it "
    "reported. Counts as a visit of the household's residents (their due-visits list). The same client `id` "
    "again answers 200 with the visit already stored.",
    responses=problem_responses(404, 409, 422),
)
async def add_visit(
    pairing_id: uuid.UUID, body: VisitIn, session: SessionDep, principal: Staff, response: Response
) -> Any:
    pairing = await pairings.get(session, principal, pairing_id, for_update=True)
    visit, created = await pairings.add_visit(session, principal, pairing, body.model_dump())
    if not created:
        response.status_code = 200
    return VisitOut.model_validate(visit)


@router.get(
    "/pairings/{pairing_id}/visits",
    response_model=list[VisitOut],
    operation_id="pairings_visits",
    summary="A pairing's visits (走访记录)",
    description="Newest first.",
    responses=problem_responses(404),
)
async def list_visits(pairing_id: uuid.UUID, session: SessionDep, principal: Reader) -> Any:
    pairing = await pairings.get(session, principal, pairing_id)
    return await pairings.visits_of(session, pairing.id)
