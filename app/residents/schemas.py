"""Bodies for buildings, households and residents. Phones and ID numbers leave the service masked."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import AfterValidator, Field

from app.kit.crypto import normalise
from app.kit.schemas import InputModel, OutputModel, Text
from app.residents.models import Gender, ResidentTag


def _phone(value: str) -> str:
    digits = normalise(value, "phone")
    if not 7 <= len(digits) <= 15:
        raise ValueError("must be a phone number of 7 to 15 digits")
    return digits


def _id_number(value: str) -> str:
    v = normalise(value, "id_number")
    if not (len(v) == 18 and v[:17].isdigit() and (v[17].isdigit() or v[17] == "X")) and not (
        len(v) == 15 and v.isdigit()
    ):
        raise ValueError("must be an 18-character resident ID number (15 digits for old cards)")
    return v


def _unique(tags: list[ResidentTag]) -> list[ResidentTag]:
    return list(dict.fromkeys(tags))


# The patterns say in the schema what the validators check: 7 to 15 digits, whatever separates them;
# 17 digits and a check digit or X (15 digits for old cards), spaces allowed.
PHONE_PATTERN = r"^\D*(\d\D*){7,15}$"
ID_NUMBER_PATTERN = r"^((\s*\d){17}\s*[\dXx]|(\s*\d){15})\s*$"
Phone = Annotated[str, Field(max_length=32, pattern=PHONE_PATTERN, examples=["13812341234"]), AfterValidator(_phone)]
IdNumber = Annotated[
    str, Field(max_length=32, pattern=ID_NUMBER_PATTERN, examples=["61012419800101123X"]), AfterValidator(_id_number)
]
Tags = Annotated[list[ResidentTag], Field(max_length=len(ResidentTag)), AfterValidator(_unique)]


class BuildingCreate(InputModel):
    id: uuid.UUID | None = Field(default=None, description="client-generated id (optional)")
    area_id: uuid.UUID | None = Field(default=None, description="grid or micro-grid; default your home area")
    name: Text = Field(min_length=1, max_length=100, examples=["3号楼"])
    address: Text | None = Field(default=None, max_length=200)


class BuildingUpdate(InputModel):
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    address: Text | None = Field(default=None, max_length=200)


class BuildingOut(OutputModel):
    id: uuid.UUID
    area_id: uuid.UUID
    name: str
    address: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class HouseholdCreate(InputModel):
    id: uuid.UUID | None = None
    building_id: uuid.UUID
    address: Text = Field(min_length=1, max_length=200, examples=["3号楼2单元501"])


class HouseholdUpdate(InputModel):
    address: Text | None = Field(default=None, min_length=1, max_length=200)


class HouseholdOut(OutputModel):
    id: uuid.UUID
    building_id: uuid.UUID
    area_id: uuid.UUID
    address: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ResidentCreate(InputModel):
    id: uuid.UUID | None = None
    household_id: uuid.UUID | None = Field(default=None, description="the resident's household (户)")
    area_id: uuid.UUID | None = Field(default=None, description="only without household; default your home area")
    name: Text = Field(min_length=1, max_length=100, examples=["周贵领"])
    gender: Gender = Gender.UNKNOWN
    birth_date: dt.date | None = None
    phone: Phone | None = None
    id_number: IdNumber | None = None
    tags: Tags = []


class ResidentUpdate(InputModel):
    household_id: uuid.UUID | None = None
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    gender: Gender | None = None
    birth_date: dt.date | None = None
    phone: Phone | None = None
    id_number: IdNumber | None = None
    tags: Tags | None = None


class ResidentOut(OutputModel):
    id: uuid.UUID
    household_id: uuid.UUID | None
    area_id: uuid.UUID
    name: str = Field(description="masked (周**) for roles that may not see personal data")
    gender: Gender
    birth_date: dt.date | None
    phone: str | None = Field(description="always masked: 138****1234")
    id_number: str | None = Field(description="always masked: 610***********123X")
    tags: list[ResidentTag]
    sensitive: bool = Field(description="disability or minor: sensitive personal information (PIPL), never aggregated")
    last_visited_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class RevealIn(InputModel):
    reason: Text = Field(min_length=4, max_length=500, examples=["入户走访需电话联系本人"])


class ResidentRevealed(OutputModel):
    id: uuid.UUID
    name: str
    phone: str | None
    id_number: str | None


class DueVisitOut(OutputModel):
    resident: ResidentOut
    interval_days: int
    due_at: dt.datetime
