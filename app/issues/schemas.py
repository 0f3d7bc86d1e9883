"""Request and response bodies for issues. Fields the workflow owns are never inputs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, RootModel, model_validator

from app.issues.sla import SlaState, Unit
from app.issues.workflow import (
    Action,
    Channel,
    Kind,
    Outcome,
    Priority,
    Rating,
    RejectReason,
    ReturnReason,
    Status,
    Tier,
)
from app.kit.labels import LabelledEnum
from app.kit.schemas import AwareDatetime, InputModel, OutputModel, Text

Title = Annotated[Text, Field(min_length=1, max_length=200, examples=["小区东门路灯不亮"])]
Description = Annotated[Text, Field(max_length=5000, examples=["东门口两盏路灯连续三晚不亮,老人出行不便。"])]
Note = Annotated[Text | None, Field(default=None, max_length=2000)]


class Location(InputModel):
    lat: float = Field(ge=-90, le=90, examples=[34.05])
    lng: float = Field(ge=-180, le=180, examples=[108.02])


# The pattern excludes NUL, and leading or trailing spaces (bodies are stripped before it is checked).
# A plain str: after Text's validator, pydantic would check the pattern but leave it out of the schema.
PHONE_PATTERN = r"^[0-9+\-][0-9+\- ]{1,30}[0-9+\-]$"
ReporterPhone = Annotated[str, Field(max_length=32, pattern=PHONE_PATTERN)]


class Reporter(InputModel):
    name: Text | None = Field(default=None, max_length=100, examples=["周贵领"])
    phone: ReporterPhone | None = Field(default=None, examples=["13812341234"])


class IssueCreate(InputModel):
    id: uuid.UUID | None = Field(default=None, description="client-minted UUID (offline phones)")
    title: Title
    description: Description = ""
    kind: Kind
    category: str = Field(min_length=1, max_length=32, examples=["lighting"])
    channel: Channel
    priority: Priority = Priority.NORMAL
    area_id: uuid.UUID | None = None
    location: Location | None = None
    address: Text | None = Field(default=None, max_length=300)
    reporter: Reporter | None = None
    occurred_at: AwareDatetime | None = None
    external_ref: Text | None = Field(default=None, max_length=100, description="the caller's own ticket number")


class IssueUpdate(InputModel):
    """Editable before dispatch only; send ``If-Match``."""

    title: Title | None = None
    description: Description | None = None
    category: str | None = Field(default=None, min_length=1, max_length=32)
    priority: Priority | None = None
    address: Text | None = Field(default=None, max_length=300)
    location: Location | None = None
    reporter: Reporter | None = None


class ReporterOut(OutputModel):
    name: str | None = Field(description="masked, e.g. 周**")
    phone: str | None = Field(description="masked, e.g. 138****1234")


class CoReporterOut(ReporterOut):
    from_issue_id: uuid.UUID | None


class LocationOut(OutputModel):
    lat: float
    lng: float


class IssueOut(OutputModel):
    id: uuid.UUID
    number: str
    title: str
    description: str
    kind: Kind
    category: str
    channel: Channel
    priority: Priority
    status: Status
    tier: Tier
    area_id: uuid.UUID
    location: LocationOut | None
    address: str | None
    reporter: ReporterOut
    occurred_at: dt.datetime | None
    external_ref: str | None
    assignee_user_id: uuid.UUID | None
    assignee_unit_id: uuid.UUID | None
    merged_into_id: uuid.UUID | None
    diary_entry_id: uuid.UUID | None = Field(default=None, description="the 民情日记 entry it was escalated from")
    outcome: Outcome | None
    resolution: str | None
    rating: Rating | None
    solved: bool | None
    escalated: bool
    supervised_count: int
    reopened_count: int
    respond_due_at: dt.datetime
    resolve_due_at: dt.datetime
    sla_state: SlaState | None = Field(
        description="against the running deadline (respond while reported, then resolve); "
        "null when no clock runs (resolved, verified, closed, rejected, merged)"
    )
    first_responded_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    suspended_since: dt.datetime | None
    paused_seconds: int
    pending_extension: dict[str, Any] | None
    allowed_actions: list[Action] = Field(description="actions the caller may take now")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class IssueDetail(IssueOut):
    co_reporters: list[CoReporterOut] = Field(default_factory=list, description="reporters of merged duplicates")


class ActionResult(IssueDetail):
    feedback_url: str | None = Field(
        default=None, description="only in the response to `close`: the resident's one-time 回访 link"
    )


class SimilarIssue(OutputModel):
    id: uuid.UUID
    number: str
    title: str
    status: Status
    area_id: uuid.UUID
    score: float = Field(description="pg_trgm similarity of title + description, 0..1")
    distance_m: float | None = Field(description="metres between the two locations, when both have one")
    created_at: dt.datetime


class EventOut(OutputModel):
    seq: int
    action: str
    from_status: Status | None
    to_status: Status
    actor_id: uuid.UUID | None
    actor_role: str
    actor_name: str | None
    payload: dict[str, Any]
    created_at: dt.datetime


class CommentCreate(InputModel):
    body: Text = Field(min_length=1, max_length=5000)


class CommentOut(OutputModel):
    id: uuid.UUID
    author_id: uuid.UUID | None
    author_role: str
    author_name: str | None
    body: str
    created_at: dt.datetime


class AttachmentKind(LabelledEnum):
    BEFORE = "before", "处置前"
    AFTER = "after", "处置后"
    OTHER = "other", "其他"


class AttachmentOut(OutputModel):
    id: uuid.UUID
    issue_id: uuid.UUID
    kind: AttachmentKind
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime


class CategoryOut(OutputModel):
    code: str
    name: str
    parent_code: str | None
    is_active: bool


# --- SLA policies ------------------------------------------------------------------------------


class Within(InputModel):
    amount: float = Field(gt=0, le=10_000)
    unit: Unit


class SlaPolicyByKind(InputModel):
    """A policy for every issue of one kind (e.g. praise, consultation)."""

    kind: Kind
    category: None = Field(default=None, description="always null: a kind's policy names no category")
    priority: None = Field(default=None, description="always null: a kind's policy names no priority")
    respond_within: Within
    resolve_within: Within


class SlaPolicyByCategory(InputModel):
    """A policy for a category and/or a priority; with neither, the global default."""

    category: str | None = Field(default=None, max_length=32)
    priority: Priority | None = None
    kind: None = Field(default=None, description="always null: see the policies keyed by kind")
    respond_within: Within
    resolve_within: Within


class SlaPolicyIn(RootModel[SlaPolicyByKind | SlaPolicyByCategory]):
    """One policy: keyed by kind, or by category and/or priority (never both)."""


class SlaPolicyOut(OutputModel):
    category: str | None
    priority: Priority | None
    kind: Kind | None
    respond_within: dict[str, Any]
    resolve_within: dict[str, Any]


class SlaPolicySet(InputModel):
    items: list[SlaPolicyIn] = Field(min_length=1, max_length=500)

    @property
    def policies(self) -> list[SlaPolicyByKind | SlaPolicyByCategory]:
        return [item.root for item in self.items]


class SlaPolicyList(OutputModel):
    items: list[SlaPolicyOut]


# --- action bodies -----------------------------------------------------------------------------


class NoteBody(InputModel):
    note: Note


class RejectBody(InputModel):
    reason: RejectReason
    note: Note


class MergeBody(InputModel):
    into_issue_id: uuid.UUID
    note: Note


M = TypeVar("M", bound=InputModel)


def _exactly_one(body: M, first: str, second: str) -> M:
    if (getattr(body, first) is None) == (getattr(body, second) is None):
        raise ValueError(f"give exactly one of {first} and {second}")
    return body


class DispatchBody(InputModel):
    assignee_user_id: uuid.UUID | None = None
    assignee_unit_id: uuid.UUID | None = None
    note: Note

    @model_validator(mode="after")
    def _one_assignee(self) -> DispatchBody:
        return _exactly_one(self, "assignee_user_id", "assignee_unit_id")


class ReturnBody(InputModel):
    reason: ReturnReason
    note: Note


class SuspendBody(InputModel):
    reason: Text = Field(min_length=1, max_length=2000)


class ExtensionRequestBody(InputModel):
    hours: float | None = Field(default=None, gt=0, le=24 * 90)
    working_days: float | None = Field(default=None, gt=0, le=90)
    reason: Text = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one_amount(self) -> ExtensionRequestBody:
        return _exactly_one(self, "hours", "working_days")


class ExtensionDecisionBody(InputModel):
    approve: bool
    note: Note


class ReasonBody(InputModel):
    reason: Text = Field(min_length=1, max_length=2000)


class ResolveBody(InputModel):
    outcome: Outcome
    explanation: Text | None = Field(default=None, max_length=5000, description="required when unsolvable")
    notes: Text | None = Field(default=None, max_length=5000)
    photo_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20, description="attachment ids")

    @model_validator(mode="after")
    def _explained(self) -> ResolveBody:
        if self.outcome is Outcome.UNSOLVABLE and not self.explanation:
            raise ValueError("explanation is required when the outcome is unsolvable")
        return self


class CloseBody(InputModel):
    """回访 result: the resident's rating, or unreachable after some attempts."""

    rating: Rating | None = None
    solved: bool | None = None
    unreachable: Literal[True] | None = None
    attempts: int | None = Field(default=None, ge=1, le=20)
    note: Note

    @model_validator(mode="after")
    def _either(self) -> CloseBody:
        if self.unreachable:
            if self.rating is not None or self.solved is not None or self.attempts is None:
                raise ValueError("unreachable takes attempts, and no rating or solved")
        elif self.rating is None or self.solved is None or self.attempts is not None:
            raise ValueError("give rating and solved, or unreachable: true with attempts")
        return self


class EvaluateBody(InputModel):
    rating: Rating
    solved: bool
    comment: Text | None = Field(default=None, max_length=2000)


class FeedbackBody(InputModel):
    rating: Rating
    solved: bool
    comment: Text | None = Field(default=None, max_length=2000)


class FeedbackResult(OutputModel):
    number: str
    status: Status
    reopened: bool


ACTION_BODIES: dict[Action, type[InputModel]] = {
    Action.ACCEPT: NoteBody,
    Action.REJECT: RejectBody,
    Action.MERGE: MergeBody,
    Action.DISPATCH: DispatchBody,
    Action.RETURN: ReturnBody,
    Action.START: NoteBody,
    Action.SUSPEND: SuspendBody,
    Action.RESUME: NoteBody,
    Action.REQUEST_EXTENSION: ExtensionRequestBody,
    Action.APPROVE_EXTENSION: ExtensionDecisionBody,
    Action.SUPERVISE: NoteBody,
    Action.ESCALATE: ReasonBody,
    Action.RESOLVE: ResolveBody,
    Action.VERIFY: NoteBody,
    Action.VERIFY_FAIL: ReasonBody,
    Action.CLOSE: CloseBody,
    Action.REOPEN: ReasonBody,
    Action.EVALUATE: EvaluateBody,
}

ACTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "dispatch": {
        "summary": "派单 to a unit",
        "value": {"assignee_unit_id": "0193f0c2-5b6e-7c41-9a2d-3e8f1b7c4d5a", "note": "请物业三日内修复"},
    },
    "return": {"summary": "退单", "value": {"reason": "wrong_area", "note": "不属于本物业服务范围"}},
    "reject": {"summary": "不予受理", "value": {"reason": "duplicate", "note": "与已有工单重复"}},
    "merge": {"summary": "合并", "value": {"into_issue_id": "0193f0c2-5b6e-7c41-9a2d-3e8f1b7c4d5a"}},
    "suspend": {"summary": "挂起", "value": {"reason": "等待居民提供材料"}},
    "resolve": {"summary": "办结", "value": {"outcome": "solved", "notes": "已更换灯泡", "photo_ids": []}},
    "close": {"summary": "结案 with 回访", "value": {"rating": "satisfied", "solved": True}},
    "close_unreachable": {"summary": "结案, resident unreachable", "value": {"unreachable": True, "attempts": 3}},
    "request_extension": {"summary": "申请延期", "value": {"working_days": 2, "reason": "需采购配件"}},
    "approve_extension": {"summary": "批准延期", "value": {"approve": True}},
    "escalate": {"summary": "上报上级", "value": {"reason": "涉及多个网格"}},
    "supervise": {"summary": "督办", "value": {"note": "请加快办理"}},
    "evaluate": {"summary": "评价", "value": {"rating": "basically_satisfied", "solved": True}},
    "accept": {"summary": "受理 (start, resume, verify likewise take an optional note)", "value": {}},
}
