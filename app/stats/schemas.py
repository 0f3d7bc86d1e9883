"""Response shapes of /api/v1/stats (三率 and friends)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class Rate(BaseModel):
    """A rate with its parts: ``value = numerator / denominator``, ``null`` when the denominator is 0."""

    value: float | None = Field(description="numerator ÷ denominator; null when the denominator is 0")
    numerator: int
    denominator: int


class AreaRef(BaseModel):
    id: uuid.UUID
    name: str
    level: str


class Rates(BaseModel):
    response_rate: Rate = Field(description="响应率")
    resolution_rate: Rate = Field(description="解决率")
    satisfaction_rate: Rate = Field(description="满意率")
    on_time_rate: Rate = Field(description="按时办结率")
    grid_level_share: Rate = Field(description="网格内解决率 (小事不出网格)")
    community_level_share: Rate = Field(description="社区内解决率 (大事不出社区)")


class IssueFigures(BaseModel):
    total: int = Field(description="issues created in the window (every status, merged and rejected included)")
    by_status: dict[str, int] = Field(description="issues created in the window, by their status now")
    by_kind: dict[str, int]
    by_category: dict[str, int] = Field(description="by the category code as filed (sub-categories not rolled up)")
    by_channel: dict[str, int]
    by_tier: dict[str, int] = Field(description="by the tier now (grid / community / street)")
    open_now: int = Field(description="open issues in scope right now, whenever created")
    due_soon_now: int = Field(description="open issues in their last 20 % (预警) right now")
    overdue_now: int = Field(description="open issues past their running deadline (超期) right now")


class Percentiles(BaseModel):
    median: float | None
    p90: float | None


class Durations(BaseModel):
    first_response_seconds: Percentiles = Field(description="first_responded_at − created_at, responded in window")
    resolution_seconds: Percentiles = Field(description="resolved_at − created_at, resolved in window")


class DiaryFigures(BaseModel):
    logged: int = Field(description="民情日记 entries whose visit falls in the window")
    answered: int
    resolved: int
    escalated: int
    closure_rate: Rate = Field(description="民情日记办结: (resolved + answered) ÷ logged")


class DisputeFigures(BaseModel):
    registered: int = Field(description="disputes registered (排查登记) in the window")
    by_risk: dict[str, int] = Field(description="by risk level now")
    mediated: int = Field(description="of those, with an outcome recorded (调解)")
    agreements: int = Field(description="of those, ended in an agreement (调解成功)")
    referred: int = Field(description="of those, referred to judicial or petition channels")
    stable_at_follow_up: int = Field(description="of those, found stable at the latest follow-up (回访)")


class Overview(BaseModel):
    area: AreaRef
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    generated_at: dt.datetime
    issues: IssueFigures
    rates: Rates
    durations: Durations
    diary: DiaryFigures | None
    disputes: DisputeFigures | None

    model_config = {"populate_by_name": True}


class AreaIssueFigures(BaseModel):
    total: int
    open_now: int
    overdue_now: int


class AreaRow(BaseModel):
    area: AreaRef
    issues: AreaIssueFigures
    rates: Rates


class AreaRanking(BaseModel):
    items: list[AreaRow]


class WorkerRef(BaseModel):
    id: uuid.UUID
    display_name: str
    area: AreaRef


class WorkerRow(BaseModel):
    user: WorkerRef
    diary_entries: int = Field(description="民情日记 entries written, visit in window")
    visits: int = Field(description="of those, with a resident (入户走访)")
    issues_found: int = Field(description="issues they created in the window")
    handled: int = Field(description="issues they resolved in the window (latest resolution)")
    resolved_on_time: int
    satisfaction_rate: Rate = Field(description="(satisfied + basically satisfied) ÷ evaluated, of those handled")
    overdue_now: int = Field(description="open issues assigned to them and overdue right now")


class WorkerTable(BaseModel):
    items: list[WorkerRow]


class Point(BaseModel):
    t: dt.date = Field(description="start of the bucket (day; ISO week's Monday; month's first day)")
    value: int | Rate


class Timeseries(BaseModel):
    metric: str
    bucket: str
    points: list[Point]


class OverdueIssue(BaseModel):
    """One overdue issue as the wall screen shows it: no title, description, address or reporter."""

    number: str = Field(description="the issue's number (编号)")
    category: str = Field(description="category code as filed")
    category_name: str
    status: str
    area: AreaRef = Field(description="the area the issue lies in")
    due_at: dt.datetime = Field(description="the running deadline it missed (response or resolution)")
    overdue_seconds: int = Field(
        description="wall-clock seconds past `due_at` now (a suspended issue: when it was suspended)"
    )


class OverdueList(BaseModel):
    area: AreaRef
    generated_at: dt.datetime
    total: int = Field(description="open issues overdue right now in the area (the overview's `overdue_now`)")
    items: list[OverdueIssue] = Field(description="the `limit` most overdue first")
