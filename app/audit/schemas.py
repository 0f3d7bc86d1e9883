from __future__ import annotations

import datetime as dt
import uuid

from app.kit.schemas import OutputModel


class AuditEntryOut(OutputModel):
    id: uuid.UUID
    at: dt.datetime
    actor_id: uuid.UUID | None
    actor_username: str
    actor_role: str
    action: str
    object_type: str
    object_id: uuid.UUID
    area_id: uuid.UUID | None
    reason: str | None
    request_id: str | None
