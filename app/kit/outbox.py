"""Transactional outbox: side effects are rows written in the same transaction as the change.

A worker delivers them (webhooks, notifications) after commit; a rollback drops them with the
change. Payloads are thin — ids, numbers, statuses, timestamps — never personal data.

This module is the one writer of ``outbox``. One row (:func:`values`) is written two ways:
:func:`emit` adds it to the session (flushed with the change), :func:`insert_cte` is the same
insert as a common table expression, for a statement that writes a change and its message
together (a new issue).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit import clock
from app.kit.ids import new_id


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(default=new_id)
    event_type: Mapped[str] = mapped_column(sa.String(64))
    aggregate_type: Mapped[str] = mapped_column(sa.String(32))
    aggregate_id: Mapped[uuid.UUID] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Where the event happened: webhook subscriptions receive events of their area's subtree only.
    area_id: Mapped[uuid.UUID | None] = mapped_column()
    # Partitioned by day on it (app/kit/partitions.py), so part of the primary key.
    created_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    available_at: Mapped[dt.datetime] = mapped_column()
    processed_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        # The relay's claim: unprocessed messages in id order (migration 0015).
        sa.Index("ix_outbox_unprocessed", "id", postgresql_where=sa.text("processed_at IS NULL")),
        sa.Index(
            "ix_outbox_unprocessed_aggregate", "aggregate_id", "id", postgresql_where=sa.text("processed_at IS NULL")
        ),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )


def values(
    event_type: str,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
    payload: dict[str, Any],
    area_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The column values of one message (see :func:`emit`).

    ``area_id`` defaults to the payload's ``area_id``; events without an area reach no webhook."""
    at = clock.now()
    if area_id is None and payload.get("area_id"):
        area_id = uuid.UUID(str(payload["area_id"]))
    return {
        "event_id": new_id(),
        "event_type": event_type,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "payload": payload,
        "area_id": area_id,
        "created_at": at,
        "available_at": at,
    }


def emit(
    session: AsyncSession,
    event_type: str,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
    payload: dict[str, Any],
    area_id: uuid.UUID | None = None,
) -> OutboxMessage:
    """Queue ``event_type`` for delivery once the current transaction commits.

    ``area_id`` defaults to the payload's ``area_id``; events without an area reach no webhook.
    An insert trigger sends ``NOTIFY outbox`` so the worker wakes up at commit.
    """
    message = OutboxMessage(**values(event_type, aggregate_type, aggregate_id, payload, area_id))
    session.add(message)
    return message


MESSAGE_COLUMNS = (
    "event_id",
    "event_type",
    "aggregate_type",
    "aggregate_id",
    "payload",
    "area_id",
    "created_at",
    "available_at",
)
"""The columns :func:`values` sets."""


def insert_cte(name: str, prefix: str, *, after: str | None = None) -> str:
    """``name AS (INSERT INTO outbox … RETURNING id)`` with the bind parameters
    ``:{prefix}{column}`` that :func:`cte_params` gives for a message's :func:`values`; with
    ``after`` (another common table expression) once for each row that one returns."""
    columns = ", ".join(MESSAGE_COLUMNS)
    # The payload comes encoded (:func:`cte_params`) and is sent as text, which every connection
    # passes as it is (a jsonb parameter would be encoded again by a pool's own JSON codec).
    row = ", ".join(
        f"CAST(CAST(:{prefix}{c} AS text) AS jsonb)" if c == "payload" else f":{prefix}{c}" for c in MESSAGE_COLUMNS
    )
    source = f"SELECT {row} FROM {after}" if after else f"VALUES ({row})"
    return f"{name} AS (\n    INSERT INTO outbox ({columns})\n    {source}\n    RETURNING id\n)"


def cte_params(prefix: str, message: dict[str, Any]) -> dict[str, Any]:
    """Bind parameters of :func:`insert_cte` for ``message`` (its :func:`values`)."""
    params = {f"{prefix}{c}": message[c] for c in MESSAGE_COLUMNS}
    params[f"{prefix}payload"] = json.dumps(message["payload"])
    return params
