"""Bodies for annual commitment lists (一年10件实事), items, activities and evaluations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from app.commitments.models import Category
from app.commitments.workflow import ListStatus
from app.issues.workflow import Rating
from app.kit.schemas import AwareDatetime, InputModel, OutputModel, Text

# Days of the year as MM-DD, exactly (02-29 is the last day of February in a common year).
MONTH_DAY_PATTERN = (
    r"^((01|03|05|07|08|10|12)-(0[1-9]|[12][0-9]|3[01])|(04|06|09|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-9]))$"
)
MonthDay = Annotated[str, Field(pattern=MONTH_DAY_PATTERN, examples=["07-01"])]


class Monthly(InputModel):
    kind: Literal["monthly"]
    day: int = Field(ge=1, le=31, description="day of the month (每月N日); the month's last day when shorter")


class Quarterly(InputModel):
    kind: Literal["quarterly"]


class AtLeast(InputModel):
    kind: Literal["at_least"]
    times: int = Field(ge=1, le=366, description="at least this many times a year (全年不少于N次)")


class Season(InputModel):
    kind: Literal["season"]
    times: int = Field(ge=1, le=366)
    start: MonthDay = Field(description="first day of the window, MM-DD (暑期: 07-01)")
    end: MonthDay = Field(description="last day of the window, MM-DD (暑期: 08-31); not before `start`")


class Between(InputModel):
    kind: Literal["range"]
    min: int = Field(ge=1, le=366)
    max: int = Field(ge=1, le=366, description="not less than `min`")


Schedule = Annotated[Monthly | Quarterly | AtLeast | Season | Between, Field(discriminator="kind")]


class MilestoneIn(InputModel):
    title: Text = Field(min_length=1, max_length=200, examples=["完成大棚建设"])
    due: dt.date


class ItemIn(InputModel):
    category: Category = Field(description="governance 小区治理类 / care 帮扶关爱类 / service 服务活动类")
    title: Text = Field(min_length=1, max_length=200, examples=["每月10日组织社区清洁日"])
    description: Text = Field(default="", max_length=10_000)
    responsible: Text | None = Field(default=None, max_length=200, description="责任人或单位")
    budget_yuan: int | None = Field(default=None, ge=0, le=10**12, description="预算 (元)")
    schedule: Schedule | None = Field(default=None, description="recurring target; none and no milestones: once")
    milestones: list[MilestoneIn] = Field(default=[], max_length=24)
    proposal_ids: list[uuid.UUID] = Field(
        default=[], max_length=20, description="the residents' proposals (民事民提) of the community this item answers"
    )


class ItemPatch(InputModel):
    # Optional, not nullable: a field left out stays as it is.
    category: Category = Field(default=None)  # type: ignore[assignment]
    title: Text = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    description: Text = Field(default=None, max_length=10_000)  # type: ignore[assignment]
    responsible: Text | None = Field(default=None, max_length=200)
    budget_yuan: int | None = Field(default=None, ge=0, le=10**12)
    schedule: Schedule | None = None
    milestones: list[MilestoneIn] | None = Field(default=None, max_length=24)
    proposal_ids: list[uuid.UUID] | None = Field(default=None, max_length=20, description="replaces the links")


class ListCreate(InputModel):
    area_id: uuid.UUID | None = Field(default=None, description="a community in your area; default your home area")
    year: int = Field(ge=2000, le=2999, examples=[2026])
    title: Text | None = Field(default=None, max_length=200, description="default: 〈社区〉〈年〉年一年10件实事")
    items: list[ItemIn] = Field(default=[], max_length=50)


class ReasonIn(InputModel):
    reason: Text = Field(min_length=1, max_length=2000, examples=["第3项预算依据不足, 请补充"])


class ActivityFields(InputModel):
    item_ids: list[uuid.UUID] = Field(min_length=1, max_length=10, description="the items this activity serves")
    held_at: AwareDatetime
    place: Text = Field(min_length=1, max_length=200, examples=["社区广场"])
    participants: int = Field(default=0, ge=0, le=1_000_000)
    volunteers: int = Field(default=0, ge=0, le=1_000_000)
    notes: Text | None = Field(default=None, max_length=10_000)


class ActivityIn(ActivityFields):
    id: uuid.UUID | None = Field(default=None, description="client-generated id; resending it is answered as before")


class ActivityBatchItem(ActivityFields):
    id: uuid.UUID = Field(description="client-generated id (offline phones)")


class MilestoneDoneIn(InputModel):
    done_on: dt.date


class EvaluationIn(InputModel):
    rating: Rating
    comment: Text | None = Field(default=None, max_length=2000)


class FeedbackLinksIn(InputModel):
    count: int = Field(default=1, ge=1, le=200, description="one-time links to hand out (one per resident)")


class FeedbackLinksOut(OutputModel):
    urls: list[str] = Field(description="one-time 民事民评 links; shown only here")
    expires_at: dt.datetime


class FeedbackIn(InputModel):
    rating: Rating
    comment: Text | None = Field(default=None, max_length=2000)


class CommitmentFeedbackResult(OutputModel):
    accepted: bool


class MilestoneOut(OutputModel):
    title: str
    due: dt.date
    done_on: dt.date | None = None


class ProgressOut(OutputModel):
    status: Literal["on_track", "behind", "done"]
    total: int = Field(description="occurrences and milestones planned for the year")
    expected: int = Field(description="of those, due by today (local time)")
    done: int = Field(description="of those, done (counted activities beyond the plan are not added)")
    percent: int = Field(description="100 × done ÷ total, rounded down")
    next_due: dt.date | None
    activities: int = Field(description="activities counted towards the item (may exceed the plan)")


class RatingsOut(OutputModel):
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    total: int
    satisfaction: str | None = Field(description="(满意 + 基本满意) ÷ total, exact to 4 places; null with none")


class CommitmentItemOut(OutputModel):
    id: uuid.UUID
    list_id: uuid.UUID
    area_id: uuid.UUID
    year: int
    position: int
    category: Category
    title: str
    description: str
    responsible: str | None
    budget_yuan: int | None
    schedule: dict[str, object] | None
    milestones: list[MilestoneOut]
    progress: ProgressOut
    ratings: RatingsOut
    decision_id: uuid.UUID | None = Field(description="the consultation decision that created the item (民主协商)")
    proposal_ids: list[uuid.UUID] = Field(description="the proposals (民事民提) the item answers")
    version: int


class ListOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    area_name: str
    year: int
    title: str
    status: ListStatus
    returned_reason: str | None
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    published_at: dt.datetime | None
    closed_at: dt.datetime | None
    allowed_actions: list[str]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ListDetail(ListOut):
    items: list[CommitmentItemOut]


class ActivityOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    item_ids: list[uuid.UUID]
    held_at: dt.datetime
    held_on: dt.date
    place: str
    participants: int
    volunteers: int
    notes: str | None
    recorded_by: uuid.UUID


class ActivityPhotoOut(OutputModel):
    id: uuid.UUID
    activity_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: uuid.UUID
    created_at: dt.datetime


class ActivityBatchResult(OutputModel):
    index: int
    id: uuid.UUID | None
    status: Literal["created", "unchanged", "conflict", "invalid"]
    code: str | None = None
    errors: list[dict[str, Any]] = []
    current: ActivityOut | None = Field(default=None, description="the activity recorded under this id, for conflicts")


class ActivityBatchOut(OutputModel):
    results: list[ActivityBatchResult]
    counts: dict[str, int]
