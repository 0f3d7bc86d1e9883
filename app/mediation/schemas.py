"""Bodies for disputes (矛盾纠纷), parties, sessions, outcomes and follow-ups."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import Field, RootModel

from app.kit.schemas import AwareDatetime, InputModel, OutputModel, Text
from app.mediation.models import DisputeStatus, DisputeType, PartyRole, ReferredTo, RiskLevel
from app.residents.schemas import Phone


class PartyIn(InputModel):
    name: Text = Field(min_length=1, max_length=100, examples=["张某"])
    role: PartyRole
    phone: Phone | None = None


class DisputeCreate(InputModel):
    id: uuid.UUID | None = Field(default=None, description="client-generated id (optional)")
    area_id: uuid.UUID | None = Field(default=None, description="area in your jurisdiction; default your home area")
    title: Text = Field(min_length=1, max_length=200, examples=["楼上漏水引发邻里纠纷"])
    description: Text = Field(min_length=1, max_length=10_000)
    type: DisputeType
    risk_level: RiskLevel = Field(description="red / orange / yellow / green (风险等级)")
    risk_reason: Text | None = Field(default=None, max_length=2000)
    parties: list[PartyIn] = Field(min_length=1, max_length=50)
    mediator_id: uuid.UUID | None = Field(default=None, description="a mediator or administrator over the area")


class SessionIn(InputModel):
    held_at: AwareDatetime
    place: Text = Field(min_length=1, max_length=200, examples=["社区调解室"])
    mediator_id: uuid.UUID | None = Field(default=None, description="default: you (or the case's mediator)")
    attendees: list[Text] = Field(default=[], max_length=50)
    notes: Text | None = Field(default=None, max_length=10_000)


class OutcomeAgreement(InputModel):
    """调解成功: the agreement reached."""

    outcome: Literal["agreement"]
    agreement_text: Text = Field(min_length=1, max_length=20_000)


class OutcomeFailed(InputModel):
    """调解不成功."""

    outcome: Literal["failed"]


class OutcomeReferred(InputModel):
    """Referred to the judicial or petition (信访) channels."""

    outcome: Literal["referred"]
    referred_to: ReferredTo


class OutcomeIn(RootModel[OutcomeAgreement | OutcomeFailed | OutcomeReferred]):
    """The outcome, told apart by ``outcome``; each carries what that outcome needs."""

    root: Annotated[OutcomeAgreement | OutcomeFailed | OutcomeReferred, Field(discriminator="outcome")]


class FollowUpIn(InputModel):
    visited_on: dt.date
    stable: bool = Field(description="has the dispute stayed settled? false reopens mediation, risk + 1")
    notes: Text | None = Field(default=None, max_length=10_000)


class PartyOut(OutputModel):
    id: uuid.UUID
    name: str = Field(description="masked for roles that may not see personal data")
    role: PartyRole
    phone: str | None = Field(description="always masked")


class SessionOut(OutputModel):
    id: uuid.UUID
    held_at: dt.datetime
    place: str
    mediator_id: uuid.UUID
    attendees: list[str]
    notes: str | None


class FollowUpOut(OutputModel):
    id: uuid.UUID
    visited_on: dt.date
    stable: bool
    notes: str | None
    visited_by: uuid.UUID


class DisputeOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    title: str
    description: str
    type: DisputeType
    risk_level: RiskLevel
    risk_reason: str | None
    status: DisputeStatus
    registered_by: uuid.UUID
    mediator_id: uuid.UUID | None
    agreement_text: str | None
    referred_to: ReferredTo | None
    outcome_at: dt.datetime | None
    issue_id: uuid.UUID | None
    parties: list[PartyOut]
    allowed_actions: list[str]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class DisputeDetail(DisputeOut):
    sessions: list[SessionOut]
    follow_ups: list[FollowUpOut]


class PartyRevealed(OutputModel):
    id: uuid.UUID
    name: str
    phone: str | None
