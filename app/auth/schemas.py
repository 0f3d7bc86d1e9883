"""Bodies for sign-in, users, units and API keys."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from app.auth.models import UnitKind
from app.auth.roles import Role
from app.kit.schemas import InputModel, OutputModel, Text


class LoginForm(BaseModel):
    """The OAuth2 password form (``application/x-www-form-urlencoded``); other OAuth2 fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    grant_type: str = Field(default="password", pattern="^password$")


class TokenOut(OutputModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")


class MeOut(OutputModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    home_area_id: uuid.UUID
    home_area_name: str | None = None
    unit_id: uuid.UUID | None = None
    via_api_key: bool = False


class UserCreate(InputModel):
    username: Text = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9_.-]+$", examples=["grid_ruyi_1"])
    display_name: Text = Field(min_length=1, max_length=100, examples=["于润生"])
    password: str = Field(min_length=8, max_length=128)
    role: Role
    home_area_id: uuid.UUID
    unit_id: uuid.UUID | None = None
    phone: Text | None = Field(default=None, max_length=32)


class UserUpdate(InputModel):
    display_name: Text | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, min_length=8, max_length=128)
    role: Role | None = None
    home_area_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    is_active: bool | None = None


class UserOut(OutputModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    home_area_id: uuid.UUID
    unit_id: uuid.UUID | None
    is_active: bool
    version: int
    created_at: dt.datetime


class UnitCreate(InputModel):
    code: Text = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: Text = Field(min_length=1, max_length=100, examples=["云潭物业公司"])
    kind: UnitKind
    area_id: uuid.UUID


class UnitOut(OutputModel):
    id: uuid.UUID
    code: str
    name: str
    kind: UnitKind
    area_id: uuid.UUID
    is_active: bool


class ApiKeyCreate(InputModel):
    name: Text = Field(min_length=1, max_length=100, examples=["12345 热线平台"])
    user_id: uuid.UUID | None = Field(default=None, description="the account the key acts as; default: you")
    area_id: uuid.UUID | None = Field(default=None, description="scope of the key; default: the owner's area")


class ApiKeyOut(OutputModel):
    id: uuid.UUID
    name: str
    user_id: uuid.UUID
    area_id: uuid.UUID
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the API key itself; shown only in this response")
    signing_secret: str = Field(description="Standard Webhooks secret for signed calls; shown only once")
