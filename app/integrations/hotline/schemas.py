"""Bodies of the 12345 hotline integration (热线工单推送 / 状态回传)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.issues.workflow import Kind, Outcome, Priority, Rating, Status
from app.kit.labels import register as register_enum
from app.kit.schemas import AwareDatetime, InputModel, OutputModel, Text

# No leading or trailing spaces (bodies are stripped before the pattern is checked); a plain str, as after
# Text's validator pydantic would check the pattern but leave it out of the schema. Excludes NUL anyway.
PHONE_PATTERN = r"^[0-9+\-][0-9+\- ]{1,30}[0-9+\-]$"
CallerPhone = Annotated[str, Field(pattern=PHONE_PATTERN)]
TICKET_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class Urgency(StrEnum):
    """The hotline's 紧急程度."""

    NORMAL = "normal"  # 一般
    URGENT = "urgent"  # 紧急
    EXTRA_URGENT = "extra_urgent"  # 特急


URGENCY_LABELS: dict[Urgency, str] = {Urgency.NORMAL: "一般", Urgency.URGENT: "紧急", Urgency.EXTRA_URGENT: "特急"}
register_enum("hotline_urgency", Urgency, URGENCY_LABELS)

URGENCY_PRIORITY: dict[Urgency, Priority] = {
    Urgency.NORMAL: Priority.NORMAL,
    Urgency.URGENT: Priority.HIGH,
    Urgency.EXTRA_URGENT: Priority.URGENT,
}


class _Inbound(BaseModel):
    """Hotline messages: unknown fields are ignored (platforms add fields over time), strings stripped."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class TicketIn(_Inbound):
    """A ticket (工单) pushed by the hotline platform."""

    ticket_number: str = Field(pattern=TICKET_NUMBER_PATTERN, examples=["12345-20261123-0042"])
    received_at: AwareDatetime = Field(description="when the hotline took the call (受理时间)")
    kind: Kind = Field(description="咨询 / 求助 / 投诉 / 举报 / 建议 / 表扬, in our identifiers")
    category_code: Text = Field(
        min_length=1, max_length=64, description="the hotline's own category code (mapped; unknown → other)"
    )
    title: Text | None = Field(default=None, max_length=200, description="default: the start of content")
    content: Text = Field(min_length=1, max_length=5000, description="诉求内容")
    address: Text | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    caller_name: Text | None = Field(default=None, max_length=100, description="来电人")
    caller_phone: CallerPhone | None = Field(default=None, description="来电号码")
    due_at: AwareDatetime | None = Field(default=None, description="the hotline's deadline (办理时限)")
    urgency: Urgency = Urgency.NORMAL

    @model_validator(mode="after")
    def _coordinates_together(self) -> TicketIn:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng must be given together")
        return self


class UpdateType(StrEnum):
    URGE = "urge"  # 催办
    SUPPLEMENT = "supplement"  # 补充


UPDATE_TYPE_LABELS: dict[UpdateType, str] = {UpdateType.URGE: "催办", UpdateType.SUPPLEMENT: "补充"}
register_enum("hotline_update_type", UpdateType, UPDATE_TYPE_LABELS)


class TicketUpdateIn(_Inbound):
    """A later message about a ticket: 催办 (urge) or 补充 (supplement)."""

    type: UpdateType
    content: Text = Field(min_length=1, max_length=2000)
    sent_at: AwareDatetime | None = None


class Notice(OutputModel):
    code: str = Field(examples=["unknown_category"])
    field: str | None = None
    message: str


class TicketStatusOut(OutputModel):
    """What the hotline reads back (办理状态回传): no residents' personal data."""

    ticket_number: str
    issue_id: uuid.UUID
    issue_number: str
    status: Status
    status_label: str = Field(examples=["已受理"])
    received_at: dt.datetime
    created_at: dt.datetime
    accepted_at: dt.datetime | None = Field(description="first response (受理 / 派单 / 答复)")
    dispatched_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolve_due_at: dt.datetime = Field(description="the earlier of the hotline's due_at and our SLA deadline")
    outcome: Outcome | None
    resolution_summary: str | None = Field(description="办理结果, at most 500 characters")
    rating: Rating | None
    solved: bool | None
    supervised_count: int
    updated_at: dt.datetime


class TicketReceipt(TicketStatusOut):
    category: str = Field(description="our category, after the category map")
    area_id: uuid.UUID
    routed_by: str = Field(description="location, address or home (the key's own area)")
    warnings: list[Notice] = Field(default_factory=list)


class UpdateReceipt(OutputModel):
    ticket_number: str
    type: UpdateType
    applied_as: str = Field(description="supervise (督办) or comment")
    issue_number: str
    status: Status
    status_label: str
    warnings: list[Notice] = Field(default_factory=list)


class CategoryMapItem(InputModel):
    external_code: Text = Field(min_length=1, max_length=64, examples=["0301"])
    external_name: Text | None = Field(default=None, max_length=100, examples=["路灯故障"])
    category: str = Field(min_length=1, max_length=32, examples=["lighting"])


class CategoryMapIn(InputModel):
    items: list[CategoryMapItem] = Field(max_length=5000)


class UnmappedCode(OutputModel):
    external_code: str
    seen_count: int
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime


class CategoryMapOut(OutputModel):
    items: list[CategoryMapItem]
    unmapped: list[UnmappedCode] = Field(description="codes received without a mapping (their tickets went to other)")
