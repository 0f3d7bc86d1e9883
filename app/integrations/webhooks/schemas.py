"""Bodies for webhook subscriptions and their deliveries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import Field

from app.integrations.webhooks.models import DeliveryStatus, EventType
from app.kit.schemas import InputModel, OutputModel, Text

Url = Annotated[
    Text,
    Field(min_length=8, max_length=2000, examples=["https://12345.example.gov.cn/minqing/callback"]),
]
EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(EventType), examples=[["issue.created", "issue.resolved", "issue.closed"]]),
]


class SubscriptionCreate(InputModel):
    url: Url
    event_types: EventTypes
    area_id: uuid.UUID | None = Field(
        default=None, description="events of this area's subtree only; default: the owner key's area, else yours"
    )
    api_key_id: uuid.UUID | None = Field(default=None, description="the integration (API key) this belongs to")
    description: Text | None = Field(default=None, max_length=500, examples=["12345 热线回调"])


class SubscriptionUpdate(InputModel):
    """Send ``If-Match``. Re-activating a subscription disabled by a 410 clears the reason."""

    url: Url | None = None
    event_types: EventTypes | None = None
    is_active: bool | None = None
    description: Text | None = Field(default=None, max_length=500)


class SubscriptionOut(OutputModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    area_id: uuid.UUID
    api_key_id: uuid.UUID | None
    description: str | None
    is_active: bool
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None = Field(
        description="until then messages are signed with the previous secret too"
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="`whsec_…`: shown once; verify the `webhook-signature` header with it")


class AttemptOut(OutputModel):
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    response_excerpt: str | None
    error: str | None


class DeliveryOut(OutputModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID = Field(description="also the `webhook-id` header: receivers deduplicate on it")
    event_type: str
    aggregate_type: str
    aggregate_id: uuid.UUID
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
    payload: dict[str, Any]
    attempt_log: list[AttemptOut] = Field(default=[], description="every attempt, oldest first")
