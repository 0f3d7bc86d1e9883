"""Bodies for 民情日记 entries and their batch upload."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from app.diary.models import DiaryKind, DiaryStatus
from app.issues.workflow import Kind as IssueKind
from app.issues.workflow import Priority
from app.kit.schemas import AwareDatetime, InputModel, OutputModel, Text

MAX_BATCH = 500
Tag = Annotated[Text, Field(min_length=1, max_length=32)]
# ``escalated`` is reached only by escalating the entry into an issue.
WritableStatus = Literal["open", "answered", "resolved"]


class DiaryFields(InputModel):
    area_id: uuid.UUID | None = Field(default=None, description="grid or micro-grid; default your home area")
    household_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = Field(default=None, description="naming a resident counts as a visit")
    visited_at: AwareDatetime = Field(examples=["2026-11-23T09:30:00+08:00"])
    kind: DiaryKind = Field(description="situation 民情, complaint 民声, opinion 民意")
    content: Text = Field(min_length=1, max_length=5000, examples=["3号楼王大爷反映楼道灯不亮"])
    measures: Text | None = Field(default=None, max_length=5000, description="采取措施")
    result: Text | None = Field(default=None, max_length=5000, description="处理结果")
    tags: list[Tag] = Field(default=[], max_length=20)
    status: WritableStatus = "open"


class DiaryCreate(DiaryFields):
    id: uuid.UUID | None = Field(default=None, description="client-generated UUID (offline phones)")


class DiaryUpdate(InputModel):
    area_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = None
    visited_at: AwareDatetime | None = None
    kind: DiaryKind | None = None
    content: Text | None = Field(default=None, min_length=1, max_length=5000)
    measures: Text | None = Field(default=None, max_length=5000)
    result: Text | None = Field(default=None, max_length=5000)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    status: WritableStatus | None = None


class DiaryBatchItem(DiaryFields):
    id: uuid.UUID = Field(description="client-generated UUID")
    base_version: int | None = Field(
        default=None, ge=1, description="the version the phone edited; required to update an existing entry"
    )


class DiaryOut(OutputModel):
    id: uuid.UUID
    author_id: uuid.UUID
    area_id: uuid.UUID
    household_id: uuid.UUID | None
    resident_id: uuid.UUID | None
    visited_at: dt.datetime
    kind: DiaryKind
    content: str
    measures: str | None
    result: str | None
    tags: list[str]
    status: DiaryStatus
    issue_id: uuid.UUID | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


BatchStatus = Literal["created", "updated", "unchanged", "conflict", "invalid"]


class BatchItemResult(OutputModel):
    index: int
    id: uuid.UUID | None
    status: BatchStatus
    version: int | None = None
    current: DiaryOut | None = Field(default=None, description="the server's entry, for conflicts")
    code: str | None = None
    errors: list[dict[str, Any]] = []


class BatchOut(OutputModel):
    results: list[BatchItemResult]
    counts: dict[str, int]


class DiaryEscalate(InputModel):
    """Turn an entry into an issue (转为诉求工单); the issue's channel is ``diary``."""

    category: str = Field(min_length=1, max_length=32, examples=["property"])
    title: Text | None = Field(default=None, min_length=1, max_length=200, description="default: the entry's opening")
    kind: IssueKind | None = Field(default=None, description="default from the entry: 民声 → complaint, else help")
    priority: Priority = Priority.NORMAL


class DiaryEscalated(OutputModel):
    entry: DiaryOut
    issue_id: uuid.UUID
    issue_number: str
