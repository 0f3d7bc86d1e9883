"""The change feed (变更流) behind offline sync: one row per write, in the writer's transaction."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit.columns import PgType


class Xid8(PgType[int]):
    """PostgreSQL ``xid8``: a 64-bit transaction id, travelling as text."""

    col_spec = "XID8"


class Change(Base):
    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(always=False), primary_key=True)
    # The writing transaction: readers only pass rows whose transaction is older than every running one.
    txid: Mapped[str] = mapped_column(Xid8(), server_default=sa.text("pg_current_xact_id()"))
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[uuid.UUID] = mapped_column()
    area_id: Mapped[uuid.UUID] = mapped_column()
    op: Mapped[str] = mapped_column(sa.String(8))
    # Partitioned by day on it (app/kit/partitions.py), so part of the primary key.
    changed_at: Mapped[dt.datetime] = mapped_column(server_default=sa.func.now(), primary_key=True)

    __table_args__ = (
        sa.CheckConstraint("op in ('upsert','delete')", name="op_known"),
        sa.Index("ix_change_log_txid_seq", "txid", "seq"),
        sa.Index("ix_change_log_changed_at", "changed_at"),
        sa.Index("ix_change_log_area_id_seq", "area_id", "seq"),
        {"postgresql_partition_by": "RANGE (changed_at)"},
    )
