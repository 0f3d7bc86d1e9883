"""Foundation: area tree, units, users, API keys, login throttling.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What would be lost (see app/migration_guard.py): the downgrade drops every table of the foundation.
destructive: list[str] = []
destructive_downgrade = ["login_failures", "api_keys", "users", "units", "areas"]


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS ltree")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "areas",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),  # becomes ltree below
        sa.Column("boundary", pg.JSONB(), nullable=True),
        sa.Column("min_lng", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lng", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "level in ('district','street','community','grid','micro_grid')", name="ck_areas_level_known"
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["areas.id"], name="fk_areas_parent_id_areas", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_areas"),
        sa.UniqueConstraint("code", name="uq_areas_code"),
    )
    op.execute("ALTER TABLE areas ALTER COLUMN path TYPE ltree USING path::ltree")
    op.create_unique_constraint("uq_areas_path", "areas", ["path"])
    op.create_index("ix_areas_parent_id", "areas", ["parent_id"])
    op.create_index("ix_areas_path_gist", "areas", ["path"], postgresql_using="gist")
    op.execute(
        "CREATE INDEX ix_areas_bbox_gist ON areas USING gist "
        "(box(point(min_lng, min_lat), point(max_lng, max_lat))) WHERE min_lng IS NOT NULL"
    )

    op.create_table(
        "units",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("area_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "kind in ('department','property_company','police_station','judicial_office','other')",
            name="ck_units_kind_known",
        ),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_units_area_id_areas", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.UniqueConstraint("code", name="uq_units_code"),
    )
    op.create_index("ix_units_area_id", "units", ["area_id"])

    op.create_table(
        "users",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("home_area_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("unit_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "role in ('grid_worker','mediator','community_admin','street_admin','department','viewer',"
            "'admin','integration')",
            name="ck_users_role_known",
        ),
        sa.CheckConstraint("role <> 'department' OR unit_id IS NOT NULL", name="ck_users_department_has_unit"),
        sa.ForeignKeyConstraint(
            ["home_area_id"], ["areas.id"], name="fk_users_home_area_id_areas", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_users_unit_id_units", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_index("ix_users_home_area_id", "users", ["home_area_id"])
    op.create_index("ix_users_unit_id", "users", ["unit_id"])

    op.create_table(
        "api_keys",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("area_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("signing_secret", sa.String(128), nullable=True),
        sa.Column("previous_signing_secret", sa.String(128), nullable=True),
        sa.Column("created_by", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_keys_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_api_keys_area_id_areas", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_api_keys_created_by_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])

    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_failures"),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_table("units")
    op.drop_table("areas")
    # Extensions stay: other databases objects may use them and dropping needs superuser.
