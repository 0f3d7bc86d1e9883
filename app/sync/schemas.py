from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import Field

from app.kit.schemas import OutputModel


class ChangeOut(OutputModel):
    type: str = Field(description="feed name, e.g. `diary` or `disputes`")
    id: uuid.UUID
    op: Literal["upsert", "delete"]
    changed_at: dt.datetime
    data: dict[str, Any] | None = Field(
        default=None, description="the object as the list endpoints return it (masked); null for deletes"
    )


class ChangesPage(OutputModel):
    items: list[ChangeOut]
    next_cursor: str = Field(description="pass as `since` next time; store it even when `items` is empty")
    has_more: bool
