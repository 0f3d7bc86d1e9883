"""Inbound integrations: 12345 hotline tickets and messages, category map, Open311 requests.

Revision ID: 0006_inbound
Revises: 0005_webhooks
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0006_inbound"
down_revision: str | None = "0005_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = [
    "hotline_category_map",
    "hotline_messages",
    "hotline_tickets",
    "hotline_unmapped_codes",
    "issues.external_due_at",
    "open311_requests",
]


def _uuid(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, pg.UUID(as_uuid=True), nullable=nullable)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("issues", _ts("external_due_at"))

    op.create_table(
        "hotline_category_map",
        sa.Column("external_code", sa.String(64), nullable=False),
        sa.Column("external_name", sa.String(100), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        _ts("updated_at", False),
        sa.ForeignKeyConstraint(
            ["category"],
            ["issue_categories.code"],
            name="fk_hotline_category_map_category_issue_categories",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("external_code", name="pk_hotline_category_map"),
    )
    op.create_table(
        "hotline_unmapped_codes",
        sa.Column("external_code", sa.String(64), nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        _ts("first_seen_at", False),
        _ts("last_seen_at", False),
        sa.PrimaryKeyConstraint("external_code", name="pk_hotline_unmapped_codes"),
    )
    op.create_table(
        "hotline_tickets",
        _uuid("id"),
        _uuid("integration_user_id"),
        sa.Column("ticket_number", sa.String(64), nullable=False),
        _uuid("issue_id", True),
        _uuid("api_key_id", True),
        sa.Column("external_category", sa.String(64), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        _ts("received_at", False),
        _ts("hotline_due_at"),
        sa.Column("routed_by", sa.String(16), nullable=True),
        sa.Column("warnings", pg.JSONB(), server_default="[]", nullable=False),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["integration_user_id"],
            ["users.id"],
            name="fk_hotline_tickets_integration_user_id_users",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_hotline_tickets_issue_id_issues", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_hotline_tickets_api_key_id_api_keys", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_tickets"),
        sa.UniqueConstraint("issue_id", name="uq_hotline_tickets_issue_id"),
        sa.UniqueConstraint(
            "integration_user_id", "ticket_number", name="uq_hotline_tickets_integration_user_id_ticket_number"
        ),
    )
    op.create_table(
        "hotline_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _uuid("api_key_id"),
        sa.Column("webhook_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ticket_number", sa.String(64), nullable=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        _uuid("issue_id", True),
        sa.Column("outcome", pg.JSONB(), server_default="{}", nullable=False),
        _ts("received_at", False),
        sa.CheckConstraint("kind in ('ticket','update')", name="ck_hotline_messages_kind_known"),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_hotline_messages_api_key_id_api_keys", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_hotline_messages_issue_id_issues", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_messages"),
        sa.UniqueConstraint("api_key_id", "webhook_id", name="uq_hotline_messages_api_key_id_webhook_id"),
    )
    op.create_index("ix_hotline_messages_received_at", "hotline_messages", ["received_at"])

    op.create_table(
        "open311_requests",
        _uuid("issue_id"),
        _uuid("district_id"),
        _uuid("api_key_id", True),
        sa.Column("service_code", sa.String(32), nullable=False),
        sa.Column("attributes", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("media_url", sa.String(1000), nullable=True),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name="fk_open311_requests_issue_id_issues", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["areas.id"], name="fk_open311_requests_district_id_areas", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name="fk_open311_requests_api_key_id_api_keys", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("issue_id", name="pk_open311_requests"),
    )
    op.create_index("ix_open311_requests_district_id_created_at", "open311_requests", ["district_id", "created_at"])


def downgrade() -> None:
    op.drop_table("open311_requests")
    op.drop_table("hotline_messages")
    op.drop_table("hotline_tickets")
    op.drop_table("hotline_unmapped_codes")
    op.drop_table("hotline_category_map")
    op.drop_column("issues", "external_due_at")
