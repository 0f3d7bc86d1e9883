"""/api/v1/volunteers, /service-records, /ledger, /shop, /timebank, /wishes, /pairings and the public
wish wall — volunteers and the community life around them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import require_roles
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import problem_responses
from app.kit import clock, idempotency
from app.kit.etag import OptionalIfMatch, etag_of
from app.kit.idempotency import KeyHeader
from app.kit.pagination import CursorQuery, Keyset, LimitQuery
from app.kit.ratelimit import rate_limit
from app.kit.routes import (
    REQUIRED,
    Call,
    Versioned,
    change_route,
    checked,
    create_route,
    endpoint,
    list_route,
    path_id,
    read_route,
    tally,
    update_route,
)
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


def _once_route(
    path: str,
    principal: Any,
    produce: Callable[..., Awaitable[Any]],
    *,
    row_id: str | None = None,
    body: Any = None,
    if_match: bool = False,
    versioned: bool = False,
    **doc: Any,
) -> None:
    """``POST`` ``path``, answered with what ``produce(session, principal, **taken)`` makes, once per
    ``Idempotency-Key`` (when sent): a retry replays the first answer. ``taken``: ``row_id`` (the
    path's ``{row_id}``), ``body`` (of that model) and ``if_match`` (optional), those the route takes.
    ``versioned``: the answer is a versioned row's, sent with its ETag."""
    status_code = doc.get("status_code", 200)

    async def run(
        request: Request, session: AsyncSession, principal: Principal, idempotency_key: str | None, **taken: Any
    ) -> Response:
        async def respond() -> Response:
            out = await produce(session, principal, **taken)
            headers = {"ETag": etag_of(out.version)} if versioned else None
            return JSONResponse(jsonable_encoder(out), status_code=status_code, headers=headers)

        return await idempotency.once(session, request, principal.idempotency_owner, idempotency_key, respond)

    params = [
        *([("row_id", path_id(row_id), REQUIRED)] if row_id else []),
        *([("body", body, REQUIRED)] if body is not None else []),
        ("request", Request, REQUIRED),
        ("session", SessionDep, REQUIRED),
        ("principal", principal, REQUIRED),
        *([("if_match", OptionalIfMatch, None)] if if_match else []),
        ("idempotency_key", KeyHeader, None),
    ]
    router.post(path, **doc)(endpoint(run, params))


def _this_year() -> int:
    return workflow.local_day(clock.now()).year


# --- volunteers -----------------------------------------------------------------------------------


async def _volunteer_out(session: SessionDep, principal: Principal, volunteer: Any, settings: Any) -> VolunteerOut:
    return (await service.volunteer_outs(session, principal, [volunteer], settings))[0]


VOLUNTEER = Versioned(
    "volunteer_id",
    VolunteerOut,
    get=service.get_volunteer,
    change=checked(service.get_volunteer, required=True, for_update=True),
    show=lambda call, volunteer: _volunteer_out(call.session, call.principal, volunteer, call.settings),
)


create_route(
    router,
    "/volunteers",
    VOLUNTEER,
    Staff,
    lambda call, body: service.create_volunteer(call.session, call.principal, body.model_dump(), call.settings),
    body=VolunteerCreate,
    operation_id="volunteers_create",
    summary="Register a volunteer (志愿者登记)",
    description="Residents, Party members (在职党员 / 双报到), cadres, students, teams and units, with skills "
    "and a talent category (人才信息库) and availability. `consent: true` records the volunteer's consent; the "
    "phone is stored encrypted and always answered masked.",
)


list_route(
    router,
    "/volunteers",
    VolunteerOut,
    Reader,
    "volunteers",
    service.list_volunteers,
    with_settings=True,
    filters={
        "area_id": uuid.UUID | None,
        "kind": VolunteerKind | None,
        "talent_category": Annotated[str | None, Query(max_length=50)],
        "skill": Annotated[str | None, Query(max_length=50)],
        "phone": Annotated[str | None, Query(max_length=32)],
        "q": Annotated[str | None, Query(max_length=100)],
    },
    outs=lambda call, rows: service.volunteer_outs(call.session, call.principal, rows, call.settings),
    operation_id="volunteers_list",
    summary="Volunteers in your area (志愿者名册 / 人才信息库)",
    description="Newest first. Filters: `area_id` (subtree), `kind`, `talent_category`, `skill`, `phone` "
    "(exact, through the blind index), `q` (name).",
)


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


read_route(
    router,
    "/volunteers/{volunteer_id}",
    VOLUNTEER,
    Reader,
    operation_id="volunteers_get",
    summary="A volunteer with their balances (志愿者详情)",
    description="404 when outside your area. The `ETag` is the registration's version, for `If-Match` on PATCH; "
    "the balances move with the ledger, so the answer is never a 304.",
)
update_route(
    router,
    "/volunteers/{volunteer_id}",
    VOLUNTEER,
    Staff,
    lambda call, volunteer, body: service.update_volunteer(
        call.session, volunteer, body.model_dump(exclude_unset=True), call.settings
    ),
    body=VolunteerUpdate,
    operation_id="volunteers_update",
    summary="Change a volunteer's registration (修改志愿者信息)",
    description="Requires `If-Match` with the volunteer's version (428 without, 412 when stale).",
)


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


async def _grant(session: AsyncSession, principal: Principal, *, row_id: uuid.UUID, body: GrantIn) -> dict[str, Any]:
    volunteer = await service.get_volunteer(session, principal, row_id)
    posting = await service.grant(session, principal, volunteer, body.points, body.memo)
    return await service.posting_out(session, posting)


_once_route(
    "/volunteers/{volunteer_id}/grants",
    Verifier,
    _grant,
    row_id="volunteer_id",
    body=GrantIn,
    status_code=201,
    response_model=PostingOut,
    operation_id="volunteers_grant",
    summary="Award points (奖励积分)",
    description="Points from the community's source account, with a memo (an activity, a commendation)." + POSTING_DOC,
    responses=ACTION_ERRORS,
)


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

RECORD = Versioned(
    "record_id",
    RecordOut,
    get=service.get_record,
    change=checked(service.get_record, for_update=True),
    show=lambda call, record: service.record_out(record),
)


create_route(
    router,
    "/service-records",
    RECORD,
    Staff,
    lambda call, body: service.create_record(call.session, call.principal, body.model_dump()),
    body=RecordCreate,
    operation_id="service_records_create",
    summary="Submit a service record (提交服务记录)",
    description="Hours of a volunteer for an activity (optionally a wish or a pairing), submitted by the team or "
    "staff; they count once verified. One volunteer's records may not overlap (409 `record_overlaps`) and a day "
    "(Asia/Shanghai) holds at most the community's `daily_cap_minutes` (422 `daily_cap_exceeded`).",
    responses=problem_responses(409, 422),
)


list_route(
    router,
    "/service-records",
    RecordOut,
    Reader,
    "service_records",
    service.list_records,
    filters={"volunteer_id": uuid.UUID | None, "status": RecordStatus | None},
    out=service.record_out,
    operation_id="service_records_list",
    summary="Service records in your area (服务记录)",
    description="Newest first. Filters: `volunteer_id`, `status`.",
)


read_route(
    router,
    "/service-records/{record_id}",
    RECORD,
    Reader,
    operation_id="service_records_get",
    summary="A service record (服务记录详情)",
    description="404 when outside your area.",
)


async def _verify(session: AsyncSession, principal: Principal, *, row_id: uuid.UUID, if_match: str | None) -> RecordOut:
    record = await RECORD.change(session, principal, row_id, if_match)
    return service.record_out(await service.verify_record(session, principal, record))


_once_route(
    "/service-records/{record_id}/verify",
    Verifier,
    _verify,
    row_id="record_id",
    if_match=True,
    versioned=True,
    response_model=RecordOut,
    operation_id="service_records_verify",
    summary="Verify a service record (核实)",
    description="The record counts: its hours and the points the community's rules give them move to the "
    "volunteer. Community and street administrators." + POSTING_DOC,
    responses=ACTION_ERRORS,
)


change_route(
    router,
    "/service-records/{record_id}/reject",
    RECORD,
    Verifier,
    lambda call, record, body: service.reject_record(call.session, call.principal, record, body.reason),
    body=RejectIn,
    operation_id="service_records_reject",
    summary="Reject a service record (核实未通过)",
    description="With a `reason`; nothing is posted.",
    responses=ACTION_ERRORS,
)


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


async def _reverse(
    session: AsyncSession, principal: Principal, *, row_id: uuid.UUID, body: ReverseIn
) -> dict[str, Any]:
    posting = await service.get_posting(session, principal, row_id)
    return await service.posting_out(session, await service.ledger.reverse(session, principal, posting, body.memo))


_once_route(
    "/ledger/postings/{posting_id}/reverse",
    Verifier,
    _reverse,
    row_id="posting_id",
    body=ReverseIn,
    status_code=201,
    response_model=PostingOut,
    operation_id="ledger_posting_reverse",
    summary="Reverse a posting (冲正)",
    description="The ledger is append-only: a correction is a new posting with every entry negated. A posting is "
    "reversed once (409 `already_reversed`); a reversal that would take a balance below zero — the points were "
    "spent — is 409 `insufficient_balance`." + POSTING_DOC,
    responses=ACTION_ERRORS,
)


# --- 爱心超市 ---------------------------------------------------------------------------------------

SHOP_ITEM = Versioned("item_id", ShopItemOut, get=shop.get_item)


create_route(
    router,
    "/shop/items",
    SHOP_ITEM,
    Verifier,
    lambda call, body: shop.create_item(call.session, call.principal, body.model_dump()),
    body=ItemCreate,
    tag=False,
    operation_id="shop_items_create",
    summary="Add an item to the charity shop (爱心超市上架)",
    description="An item of a community's shop with its price in points and its opening stock.",
)


list_route(
    router,
    "/shop/items",
    ShopItemOut,
    Reader,
    "shop_items",
    lambda session, principal, filters, **page: shop.list_items(session, principal, **filters, **page),
    filters={"area_id": uuid.UUID | None},
    out=ShopItemOut.model_validate,
    operation_id="shop_items_list",
    summary="The charity shop's catalogue (爱心超市商品)",
    description="Newest first; `area_id` limits to an area's subtree.",
)


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


async def _redeem(session: AsyncSession, principal: Principal, *, body: RedeemIn) -> RedemptionOut:
    return RedemptionOut(**await shop.redeem(session, principal, body.model_dump()))


_once_route(
    "/shop/redemptions",
    Staff,
    _redeem,
    body=RedeemIn,
    status_code=201,
    response_model=RedemptionOut,
    operation_id="shop_redeem",
    summary="Redeem points for an item (积分兑换)",
    description="Takes the points and the stock in one transaction: 409 `insufficient_balance` when the "
    "volunteer's points do not cover it, 409 `out_of_stock` when the stock does not; neither ever goes "
    "below zero, however many clients race." + POSTING_DOC,
    responses=problem_responses(409, 422),
)


# --- time bank ------------------------------------------------------------------------------------


async def _ask(session: AsyncSession, principal: Principal, *, body: TimebankCreate) -> TimebankOut:
    return timebank.out(await timebank.create(session, principal, body.model_dump()))


_once_route(
    "/timebank/requests",
    Staff,
    _ask,
    body=TimebankCreate,
    status_code=201,
    response_model=TimebankOut,
    operation_id="timebank_create",
    summary="Ask for a service with hours (幸福交换站: 发布需求)",
    description="The requester's hours (`minutes`) are held until the service is confirmed or the request "
    "cancelled; 409 `insufficient_balance` when they do not have them." + POSTING_DOC,
    responses=problem_responses(409, 422),
)


list_route(
    router,
    "/timebank/requests",
    TimebankOut,
    Reader,
    "timebank",
    lambda session, principal, filters, **page: timebank.list_requests(session, principal, **filters, **page),
    filters={"status": TimebankStatus | None},
    out=timebank.out,
    operation_id="timebank_list",
    summary="Time-bank requests in your area (幸福交换站)",
    description="Newest first; filter by `status`.",
)


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
    return timebank.out(await timebank.claim(session, principal, req, body.volunteer_id))


def _settles(settle: Callable[[Any, Principal, Any], Awaitable[Any]]) -> Callable[..., Awaitable[TimebankOut]]:
    """Confirm or cancel (``settle``) the locked time-bank request."""

    async def produce(session: AsyncSession, principal: Principal, *, row_id: uuid.UUID) -> TimebankOut:
        req = await timebank.get(session, principal, row_id, for_update=True)
        return timebank.out(await settle(session, principal, req))

    return produce


_once_route(
    "/timebank/requests/{request_id}/confirm",
    Staff,
    _settles(timebank.confirm),
    row_id="request_id",
    response_model=TimebankOut,
    responses=ACTION_ERRORS,
    operation_id="timebank_confirm",
    summary="Confirm the service was given (确认服务)",
    description="By the requester, or staff for them: the held hours move to the claimer." + POSTING_DOC,
)
_once_route(
    "/timebank/requests/{request_id}/cancel",
    Staff,
    _settles(timebank.cancel),
    row_id="request_id",
    response_model=TimebankOut,
    responses=ACTION_ERRORS,
    operation_id="timebank_cancel",
    summary="Cancel a time-bank request (撤销需求)",
    description="The held hours go back to the requester." + POSTING_DOC,
)


# --- 微心愿 -----------------------------------------------------------------------------------------


async def _wish_out(session: SessionDep, wish: Any) -> WishOut:
    return (await wishes.outs(session, [wish]))[0]


# An action's wish is locked, with the client's ``If-Match`` (when sent) checked.
WISH = Versioned(
    "wish_id",
    WishOut,
    get=wishes.get,
    change=checked(wishes.get, for_update=True),
    show=lambda call, wish: _wish_out(call.session, wish),
)


create_route(
    router,
    "/wishes",
    WISH,
    Staff,
    lambda call, body: wishes.create(call.session, call.principal, body.model_dump()),
    body=WishCreate,
    operation_id="wishes_create",
    summary="Collect a small wish (收集微心愿)",
    description="A wish of a resident of the archive (低保户, 留守儿童, 空巢老人, 新市民 …) with a budget cap in yuan "
    "and a category.",
)


list_route(
    router,
    "/wishes",
    WishOut,
    Reader,
    "wishes",
    wishes.list_wishes,
    filters={
        "area_id": uuid.UUID | None,
        "status": WishStatus | None,
        "category": WishCategory | None,
        "claimer_id": uuid.UUID | None,
        "resident_id": uuid.UUID | None,
    },
    outs=lambda call, rows: wishes.outs(call.session, rows),
    operation_id="wishes_list",
    summary="Wishes in your area (微心愿)",
    description="Newest first. Filters: `area_id`, `status`, `category`, `claimer_id`, `resident_id`. Claims "
    "past their deadline have reopened.",
)


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


read_route(
    router,
    "/wishes/{wish_id}",
    WISH,
    Reader,
    operation_id="wishes_get",
    summary="A wish (微心愿详情)",
    description="404 when outside your area.",
)
change_route(
    router,
    "/wishes/{wish_id}/claim",
    WISH,
    Staff,
    lambda call, wish, body: wishes.claim(call.session, call.principal, wish, body.volunteer_id),
    body=ClaimIn,
    operation_id="wishes_claim",
    summary="Claim a wish (认领微心愿)",
    description="By one volunteer, Party member or unit (a registered volunteer). Unfulfilled after the "
    "community's `wish_claim_days`, the claim expires and the wish reopens.",
    responses=ACTION_ERRORS,
)
change_route(
    router,
    "/wishes/{wish_id}/fulfil",
    WISH,
    Staff,
    lambda call, wish, body: wishes.fulfil(call.session, wish, body.proof_photo),
    body=FulfilIn,
    operation_id="wishes_fulfil",
    summary="Record a wish as fulfilled (心愿送达)",
    description="With the reference of the hand-over photo (`proof_photo`).",
    responses=ACTION_ERRORS,
)


async def _confirm_wish(
    session: AsyncSession, principal: Principal, *, row_id: uuid.UUID, body: ConfirmIn, if_match: str | None
) -> WishOut:
    wish = await WISH.change(session, principal, row_id, if_match)
    return await _wish_out(session, await wishes.confirm(session, principal, wish, body.by))


_once_route(
    "/wishes/{wish_id}/confirm",
    Staff,
    _confirm_wish,
    row_id="wish_id",
    body=ConfirmIn,
    if_match=True,
    versioned=True,
    response_model=WishOut,
    operation_id="wishes_confirm",
    summary="Confirm a fulfilled wish (确认心愿达成)",
    description="By the grid worker or on the beneficiary's word (`by`); the claimer earns the community's "
    "`wish_points`." + POSTING_DOC,
    responses=ACTION_ERRORS,
)


change_route(
    router,
    "/wishes/{wish_id}/cancel",
    WISH,
    Staff,
    lambda call, wish, _: wishes.cancel(call.session, wish),
    operation_id="wishes_cancel",
    summary="Withdraw a wish (撤销微心愿)",
    description="An open or claimed wish.",
    responses=ACTION_ERRORS,
)


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

PAIRING = Versioned(
    "pairing_id", PairingOut, get=pairings.get, show=lambda call, pairing: pairings.out(pairing, pairings.today())
)


create_route(
    router,
    "/pairings",
    PAIRING,
    Staff,
    lambda call, body: pairings.create(call.session, call.principal, body.model_dump()),
    body=PairingCreate,
    tag=False,
    operation_id="pairings_create",
    summary="Pair a helper with a household (结对帮扶)",
    description="A Party member, cadre or unit (a registered volunteer) with a household of the archive, and "
    "the visit duty: `weekly`, `monthly` or by the `festival`s. A household may have many helpers.",
    responses=problem_responses(409, 422),
)


def _pairing_outs(call: Call, rows: list[Any]) -> list[PairingOut]:
    day = pairings.today()  # one day for the whole page
    return [pairings.out(pairing, day) for pairing in rows]


list_route(
    router,
    "/pairings",
    PairingOut,
    Reader,
    "pairings",
    pairings.list_pairings,
    filters={
        "area_id": uuid.UUID | None,
        "household_id": uuid.UUID | None,
        "helper_id": uuid.UUID | None,
        "frequency": Frequency | None,
    },
    outs=_pairing_outs,
    operation_id="pairings_list",
    summary="Pairings in your area (帮扶对子)",
    description="Newest first, each with its next `due_on` and `duty` (`ok`, `due`, `overdue`; Asia/Shanghai). "
    "Filters: `area_id`, `household_id`, `helper_id`, `frequency`.",
)


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
    return VisitBatchOut(results=results, counts=tally(results, ("created", "unchanged", "invalid")))


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
