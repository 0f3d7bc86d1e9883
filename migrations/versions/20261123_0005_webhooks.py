"""Signed webhooks out: subscriptions, deliveries and attempts; SLA notices; rate-limit windows.

Also gives the outbox an ``area_id`` (so subscriptions can be scoped by area) and a trigger that
sends ``NOTIFY outbox`` when rows are inserted, so the worker wakes up as soon as they commit.

Revision ID: 0005_webhooks
Revises: 0004_links
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0005_webhooks"
down_revision: str | None = "0004_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = [
    "outbox.area_id",
    "rate_limits",
    "sla_notifications",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_subscriptions",
]

UUID = pg.UUID(as_uuid=True)


def _ts(name: str, nullable: bool = True, default: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=sa.func.now() if default else None
    )


def upgrade() -> None:
    # --- outbox: area scope and wake-up ---------------------------------------------------------
    op.add_column("outbox", sa.Column("area_id", UUID, nullable=True))
    op.execute(
        "UPDATE outbox SET area_id = (payload->>'area_id')::uuid "
        "WHERE payload ? 'area_id' AND payload->>'area_id' ~ '^[0-9a-fA-F-]{36}$'"
    )
    # Ordering check of the delivery claim: is an earlier event of this aggregate still unprocessed?
    op.create_index(
        "ix_outbox_unprocessed_aggregate",
        "outbox",
        ["aggregate_id", "id"],
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.execute(
        """
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )

    # --- webhooks -------------------------------------------------------------------------------
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", pg.ARRAY(sa.String(64)), nullable=False),
        sa.Column("area_id", UUID, nullable=False),
        sa.Column("api_key_id", UUID, nullable=True),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("previous_secret", sa.String(128), nullable=True),
        _ts("previous_secret_expires_at"),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("disabled_reason", sa.String(200), nullable=True),
        _ts("disabled_at"),
        sa.Column("created_by", UUID, nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _ts("created_at", False, True),
        _ts("updated_at", False, True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name="fk_webhook_subscriptions_area_id_areas", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_webhook_subscriptions_api_key_id_api_keys", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_webhook_subscriptions_created_by_users", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_webhook_subscriptions_area_id", "webhook_subscriptions", ["area_id"])
    op.create_index("ix_webhook_subscriptions_api_key_id", "webhook_subscriptions", ["api_key_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", UUID, nullable=False),
        sa.Column("subscription_id", UUID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", UUID, nullable=False),
        sa.Column("payload", pg.JSONB(), nullable=False),
        _ts("event_created_at", False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _ts("next_attempt_at", False),
        _ts("locked_until"),
        sa.Column("lease_token", UUID, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        _ts("delivered_at"),
        _ts("created_at", False, True),
        _ts("updated_at", False, True),
        sa.CheckConstraint(
            "status in ('pending','delivered','dead','cancelled')", name="ck_webhook_deliveries_status_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_id"),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_pending_aggregate",
        "webhook_deliveries",
        ["subscription_id", "aggregate_id", "seq"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_webhook_deliveries_listing", "webhook_deliveries", ["subscription_id", "created_at", "id"])

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("delivery_id", UUID, nullable=False),
        _ts("started_at", False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.String(1000), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id", "id"])

    # --- SLA notices: issue.due_soon / issue.overdue once per issue, state and deadline ----------
    op.create_table(
        "sla_notifications",
        sa.Column("issue_id", UUID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("due_at", False),
        _ts("created_at", False, True),
        sa.PrimaryKeyConstraint("issue_id", "state", "due_at", name="pk_sla_notifications"),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_sla_notifications_issue_id_issues", ondelete="CASCADE"
        ),
    )

    # --- rate limits: one fixed-window counter per key --------------------------------------------
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(200), nullable=False),
        _ts("window_start", False),
        sa.Column("hits", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_limits"),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_table("sla_notifications")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.drop_index("ix_outbox_unprocessed_aggregate", table_name="outbox")
    op.drop_column("outbox", "area_id")
