"""Bodies for volunteers, service records, the ledger, the shop, the time bank, wishes and pairings."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import Field

from app.diary.models import DiaryKind
from app.kit.schemas import AwareDatetime, InputModel, OutputModel, Text
from app.residents.schemas import Phone
from app.volunteers.models import (
    Frequency,
    PartyRegistration,
    PostingKind,
    RecordStatus,
    TimebankStatus,
    VisitMode,
    VolunteerKind,
    WishCategory,
    WishStatus,
)
from app.volunteers.workflow import Duty

Short = Field(min_length=1, max_length=100)
Points = Field(ge=1, le=1_000_000)
ActivityType = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$", examples=["elderly_care"])

# --- volunteers -----------------------------------------------------------------------------------


class VolunteerCreate(InputModel):
    id: uuid.UUID | None = Field(default=None, description="client-generated id (optional)")
    area_id: uuid.UUID | None = Field(default=None, description="area in your jurisdiction; default your home area")
    kind: VolunteerKind
    name: Text = Field(min_length=1, max_length=100, examples=["王建国"])
    resident_id: uuid.UUID | None = Field(default=None, description="the volunteer's entry in the residents' archive")
    party_registration: PartyRegistration | None = Field(default=None, description="在职党员 / 双报到 / 社区党员")
    phone: Phone | None = None
    skills: list[Text] = Field(default=[], max_length=20, examples=[["理发", "电器维修"]])
    talent_category: Text | None = Field(
        default=None, max_length=50, description="人才信息库 category", examples=["医疗"]
    )
    availability: Text | None = Field(default=None, max_length=200, examples=["周末上午"])
    consent: Literal[True] = Field(description="the volunteer agreed to the registry keeping their data")


class VolunteerUpdate(InputModel):
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    party_registration: PartyRegistration | None = None
    phone: Phone | None = None
    skills: list[Text] | None = Field(default=None, max_length=20)
    talent_category: Text | None = Field(default=None, max_length=50)
    availability: Text | None = Field(default=None, max_length=200)
    is_active: bool | None = None


class VolunteerOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    kind: VolunteerKind
    name: str = Field(description="masked for roles that may not see personal data")
    resident_id: uuid.UUID | None
    party_registration: PartyRegistration | None
    phone: str | None = Field(description="always masked")
    skills: list[str]
    talent_category: str | None
    availability: str | None
    consent_at: dt.datetime
    is_active: bool
    points: int
    hours: float
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class VolunteerRevealed(OutputModel):
    id: uuid.UUID
    name: str
    phone: str | None


# --- rules ----------------------------------------------------------------------------------------


class RulesIn(InputModel):
    points_per_hour: dict[str, int] = Field(
        description="points per hour of service by activity type; `default` for the others",
        examples=[{"default": 10, "elderly_care": 15}],
        max_length=50,
    )
    daily_cap_minutes: int = Field(ge=30, le=1440, description="most minutes one volunteer may serve in a day")
    wish_claim_days: int = Field(ge=1, le=365, description="an unfulfilled wish claim expires after this many days")
    wish_points: int = Field(ge=0, le=100_000, description="points for a confirmed wish")
    points_expiry_days: int | None = Field(default=None, ge=1, le=3650, description="informational; none by default")


class RulesOut(OutputModel):
    area_id: uuid.UUID
    points_per_hour: dict[str, int]
    daily_cap_minutes: int
    wish_claim_days: int
    wish_points: int
    points_expiry_days: int | None
    inherited: bool = Field(description="true when these are an ancestor's rules or the defaults")


# --- service records ------------------------------------------------------------------------------


class RecordCreate(InputModel):
    volunteer_id: uuid.UUID
    activity_type: str = ActivityType
    activity: Text = Field(min_length=1, max_length=200, examples=["陪独居老人就医"])
    started_at: AwareDatetime
    ended_at: AwareDatetime
    wish_id: uuid.UUID | None = None
    pairing_id: uuid.UUID | None = None


class RejectIn(InputModel):
    reason: Text = Field(min_length=1, max_length=500)


class RecordOut(OutputModel):
    id: uuid.UUID
    volunteer_id: uuid.UUID
    area_id: uuid.UUID
    activity_type: str
    activity: str
    started_at: dt.datetime
    ended_at: dt.datetime
    minutes: int
    served_on: dt.date
    status: RecordStatus
    wish_id: uuid.UUID | None
    pairing_id: uuid.UUID | None
    submitted_by: uuid.UUID
    verified_by: uuid.UUID | None
    verified_at: dt.datetime | None
    rejection_reason: str | None
    posting_id: uuid.UUID | None
    allowed_actions: list[str]
    version: int


# --- ledger ---------------------------------------------------------------------------------------


class GrantIn(InputModel):
    points: int = Points
    memo: Text = Field(min_length=1, max_length=500, examples=["社区活动奖励"])


class ReverseIn(InputModel):
    memo: Text = Field(min_length=1, max_length=500, description="why the posting is corrected")


class EntryOut(OutputModel):
    posting_id: uuid.UUID
    kind: PostingKind
    unit: Literal["points", "minutes"]
    amount: int
    memo: str | None
    posted_at: dt.datetime
    reverses_id: uuid.UUID | None


class PostingOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    kind: PostingKind
    source_key: str
    reverses_id: uuid.UUID | None
    memo: str | None
    posted_by: uuid.UUID
    posted_at: dt.datetime
    entries: list[dict[str, Any]]


class BalanceOut(OutputModel):
    volunteer_id: uuid.UUID
    points: int
    minutes: int
    hours: float


# --- shop -----------------------------------------------------------------------------------------


class ItemCreate(InputModel):
    area_id: uuid.UUID | None = Field(default=None, description="the shop's area; default your home area")
    name: Text = Field(min_length=1, max_length=100, examples=["洗衣液"])
    points: int = Points
    stock: int = Field(default=0, ge=0, le=1_000_000)


class DonationIn(InputModel):
    donor: Text = Field(min_length=1, max_length=200, examples=["共建单位 某银行支行"])
    quantity: int = Field(ge=1, le=100_000)


class RedeemIn(InputModel):
    volunteer_id: uuid.UUID
    item_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=1000)


class ShopItemOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    name: str
    points: int
    stock: int
    is_active: bool
    version: int


class RedemptionOut(OutputModel):
    id: uuid.UUID
    item_id: uuid.UUID
    volunteer_id: uuid.UUID
    area_id: uuid.UUID
    quantity: int
    points: int
    posting_id: uuid.UUID
    redeemed_at: dt.datetime
    balance: int = Field(description="the volunteer's points after the redemption")
    stock: int = Field(description="the item's stock after the redemption")


# --- time bank ------------------------------------------------------------------------------------


class TimebankCreate(InputModel):
    requester_id: uuid.UUID = Field(description="the volunteer spending hours")
    title: Text = Field(min_length=1, max_length=200, examples=["帮忙接送孩子"])
    minutes: int = Field(ge=15, le=24 * 60)


class ClaimIn(InputModel):
    volunteer_id: uuid.UUID


class TimebankOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    requester_id: uuid.UUID
    title: str
    minutes: int
    status: TimebankStatus
    claimer_id: uuid.UUID | None
    hold_posting_id: uuid.UUID
    settle_posting_id: uuid.UUID | None
    allowed_actions: list[str]
    version: int
    created_at: dt.datetime


# --- wishes ---------------------------------------------------------------------------------------


class WishCreate(InputModel):
    resident_id: uuid.UUID = Field(description="the beneficiary, from the residents' archive")
    title: Text = Field(min_length=1, max_length=100, examples=["一台收音机"])
    details: Text | None = Field(default=None, max_length=2000)
    category: WishCategory
    budget_cap: int = Field(ge=1, le=100_000, description="yuan")


class FulfilIn(InputModel):
    proof_photo: Text = Field(min_length=1, max_length=500, description="reference of the hand-over photo")


class ConfirmIn(InputModel):
    by: Literal["grid_worker", "beneficiary"] = Field(description="who confirms the wish came true")


class WishOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    resident_id: uuid.UUID
    beneficiary: str = Field(description="masked name")
    title: str
    details: str | None
    category: WishCategory
    budget_cap: int
    status: WishStatus
    claimer_id: uuid.UUID | None
    claimed_at: dt.datetime | None
    claim_expires_at: dt.datetime | None
    expired_claims: int
    fulfilled_at: dt.datetime | None
    proof_photo: str | None
    confirmed_by: str | None
    confirmed_at: dt.datetime | None
    posting_id: uuid.UUID | None
    allowed_actions: list[str]
    version: int
    created_at: dt.datetime


class WallItem(OutputModel):
    id: uuid.UUID
    label: str = Field(examples=["独居老人 王**"])
    title: str
    category: WishCategory
    status: Literal["open", "claimed"]


class WallOut(OutputModel):
    area_id: uuid.UUID
    area_name: str
    items: list[WallItem]


class WishStatsRow(OutputModel):
    area_id: uuid.UUID | None
    area_name: str
    collected: int
    claimed: int
    fulfilled: int
    median_days_to_fulfil: float | None


class WishStatsOut(OutputModel):
    rows: list[WishStatsRow]
    total: WishStatsRow


# --- pairings -------------------------------------------------------------------------------------


class PairingCreate(InputModel):
    household_id: uuid.UUID
    helper_id: uuid.UUID = Field(description="the Party member, cadre or unit (a registered volunteer)")
    frequency: Frequency
    started_on: dt.date


class VisitDiary(InputModel):
    """A diary entry (民情日记) the visit writes, for the household at the visit's time."""

    kind: DiaryKind = Field(description="situation 民情, complaint 民声, opinion 民意")
    content: Text = Field(min_length=1, max_length=5000, examples=["王大爷反映冬季取暖不足"])
    measures: Text | None = Field(default=None, max_length=5000)


class VisitFields(InputModel):
    visited_at: AwareDatetime
    mode: VisitMode
    notes: Text | None = Field(default=None, max_length=5000)
    diary: VisitDiary | None = Field(default=None, description="write a diary entry with the visit, linked to it")
    diary_entry_id: uuid.UUID | None = Field(
        default=None, description="or link a diary entry written already (not both)"
    )
    issue_id: uuid.UUID | None = Field(default=None, description="an issue the visit reported")


class VisitIn(VisitFields):
    id: uuid.UUID | None = Field(default=None, description="client-generated id (offline)")


class VisitBatchItem(VisitFields):
    id: uuid.UUID = Field(description="client-generated id")
    pairing_id: uuid.UUID


class VisitOut(OutputModel):
    id: uuid.UUID
    pairing_id: uuid.UUID
    visited_at: dt.datetime
    mode: VisitMode
    notes: str | None
    diary_entry_id: uuid.UUID | None
    issue_id: uuid.UUID | None
    recorded_by: uuid.UUID


class PairingOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    household_id: uuid.UUID
    helper_id: uuid.UUID
    frequency: Frequency
    started_on: dt.date
    ended_on: dt.date | None
    last_visit_at: dt.datetime | None
    visits: int
    due_on: dt.date | None
    duty: Duty
    version: int


class DuePairingsOut(OutputModel):
    today: dt.date = Field(description="Asia/Shanghai")
    counts: dict[str, int]
    items: list[PairingOut]


class VisitBatchResult(OutputModel):
    index: int
    id: uuid.UUID | None
    status: Literal["created", "unchanged", "invalid"]
    code: str | None = None
    errors: list[dict[str, Any]] = []


class VisitBatchOut(OutputModel):
    results: list[VisitBatchResult]
    counts: dict[str, int]


# --- statements and rankings ----------------------------------------------------------------------


class StatementOut(OutputModel):
    volunteer: VolunteerOut
    year: int
    opening: dict[str, int]
    closing: dict[str, int]
    earned: dict[str, int]
    spent: dict[str, int]
    services: int = Field(description="verified service records in the year")
    entries: list[EntryOut]


class RankingRow(OutputModel):
    rank: int
    volunteer_id: uuid.UUID
    name: str
    kind: VolunteerKind
    hours: float
    times: int


class RankingOut(OutputModel):
    year: int
    by: Literal["hours", "times"]
    rows: list[RankingRow]
