"""Bodies for proposals (民事民提) and consultation meetings (民主协商)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import Field

from app.commitments.models import Category
from app.commitments.schemas import MilestoneIn, Schedule
from app.consultation.models import ParticipantRole, ProposalSource
from app.consultation.workflow import DecisionOutcome, Majority, ProposalStatus
from app.issues.workflow import Channel, Kind, Priority
from app.kit.schemas import AwareDatetime, InputModel, OutputModel, Text


class ProposalCreate(InputModel):
    id: uuid.UUID | None = Field(default=None, description="client-generated id (optional)")
    area_id: uuid.UUID | None = Field(default=None, description="area in your jurisdiction; default your home area")
    title: Text = Field(min_length=1, max_length=200, examples=["小区增设电动车充电桩"])
    content: Text = Field(min_length=1, max_length=10_000)
    proposer_name: Text | None = Field(default=None, max_length=100, description="the resident who proposed it")


class PublicProposalIn(InputModel):
    title: Text = Field(min_length=1, max_length=200, examples=["小区增设电动车充电桩"])
    content: Text = Field(min_length=1, max_length=5_000)
    name: Text | None = Field(default=None, max_length=100, description="optional; shown masked")


class ProposalOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    title: str
    content: str
    source: ProposalSource
    proposer_name: str | None = Field(description="masked for roles that may not see personal data")
    supporters: int
    status: ProposalStatus
    merged_into_id: uuid.UUID | None
    diary_entry_id: uuid.UUID | None
    issue_id: uuid.UUID | None
    commitment_item_ids: list[uuid.UUID] = Field(description="the commitments (一年10件实事) it led to")
    allowed_actions: list[str]
    version: int
    created_at: dt.datetime


class SimilarProposal(OutputModel):
    proposal: ProposalOut
    score: float = Field(description="pg_trgm similarity of title and content")


class PublicProposalOut(OutputModel):
    id: uuid.UUID
    status: ProposalStatus


class ParticipantIn(InputModel):
    name: Text = Field(min_length=1, max_length=100)
    role: ParticipantRole
    present: bool = True


class AgendaIn(InputModel):
    title: Text = Field(min_length=1, max_length=200, examples=["老旧小区改造方案"])
    options: list[Text] = Field(
        default=["同意", "不同意"], min_length=1, max_length=10, examples=[["方案一", "方案二"]]
    )
    proposal_id: uuid.UUID | None = Field(default=None, description="a proposal of the meeting's area")
    issue_id: uuid.UUID | None = Field(default=None, description="an issue of the meeting's area")
    commitment_item_id: uuid.UUID | None = Field(default=None, description="a commitment of the meeting's area")


class ConsultationCreate(InputModel):
    area_id: uuid.UUID | None = Field(default=None, description="area in your jurisdiction; default your home area")
    title: Text = Field(min_length=1, max_length=200, examples=["安富园小区改造民主协商会"])
    held_at: AwareDatetime
    place: Text = Field(min_length=1, max_length=200)
    convener: Text = Field(min_length=1, max_length=100, examples=["社区党支部书记"])
    invited: int = Field(ge=1, le=10_000, description="representatives invited (the quorum's denominator)")
    quorum: Literal["1/2", "2/3", "3/4"] = Field(default="2/3", description="share of the invited who must attend")
    majority: Majority = Field(default=Majority.MORE_THAN_HALF, description="share of those present an option needs")
    participants: list[ParticipantIn] = Field(default=[], max_length=500)
    agenda: list[AgendaIn] = Field(min_length=1, max_length=20)
    minutes: Text | None = Field(default=None, max_length=50_000)


class MinutesIn(InputModel):
    minutes: Text | None = Field(
        max_length=50_000, description="the meeting's minutes (会议纪要), replacing what was kept; null clears them"
    )


class NewCommitmentIn(InputModel):
    list_id: uuid.UUID = Field(description="a draft or returned annual list of the meeting's community")
    category: Category
    title: Text | None = Field(default=None, max_length=200, description="default: the agenda item's title")
    description: Text = Field(default="", max_length=10_000)
    responsible: Text | None = Field(default=None, max_length=200)
    budget_yuan: int | None = Field(default=None, ge=0, le=10**12)
    schedule: Schedule | None = None
    milestones: list[MilestoneIn] = Field(default=[], max_length=24)


class NewIssueIn(InputModel):
    category: Text = Field(min_length=1, max_length=32, examples=["property"])
    kind: Kind = Field(default=Kind.HELP)
    priority: Priority = Field(default=Priority.NORMAL)
    channel: Channel = Field(default=Channel.PATROL, description="how the matter reached the community")
    title: Text | None = Field(default=None, max_length=200, description="default: the agenda item's title")
    description: Text = Field(default="", max_length=4000)


class DecisionIn(InputModel):
    present: int = Field(ge=0, le=10_000, description="representatives present")
    votes: list[int] = Field(min_length=1, max_length=10, description="votes per option, in the agenda's order")
    reason: Text | None = Field(default=None, max_length=2000, description="required for a correction")
    create_commitment: NewCommitmentIn | None = Field(
        default=None, description="民事民办: when adopted, add the decision as a commitment to an annual list"
    )
    create_issue: NewIssueIn | None = Field(
        default=None, description="民事民办: when adopted, file the decision as an issue of the meeting's area"
    )


class DecisionOut(OutputModel):
    id: uuid.UUID
    present: int
    votes: list[int]
    outcome: DecisionOutcome
    chosen_option: int | None = Field(description="index of the adopted option")
    reason: str | None
    supersedes_id: uuid.UUID | None
    commitment_item_id: uuid.UUID | None
    issue_id: uuid.UUID | None
    decided_by: uuid.UUID
    decided_at: dt.datetime


class AgendaOut(OutputModel):
    position: int
    title: str
    options: list[str]
    proposal_id: uuid.UUID | None
    issue_id: uuid.UUID | None
    commitment_item_id: uuid.UUID | None
    decision: DecisionOut | None = Field(description="the standing decision (the latest correction)")
    history: list[DecisionOut] = Field(description="every decision taken, oldest first")


class ParticipantOut(OutputModel):
    name: str
    role: ParticipantRole
    present: bool


class ConsultationOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    title: str
    held_at: dt.datetime
    place: str
    convener: str
    invited: int
    quorum: str
    majority: Majority
    participants: list[ParticipantOut]
    minutes: str | None
    agenda: list[AgendaOut]
    version: int
    created_at: dt.datetime
