"""Volunteers and community life: registry, service records, the points and hours ledger, the
charity shop (爱心超市), the time bank, small wishes (微心愿) and help pairings (帮扶对子).

The ledger is double-entry and append-only. Triggers, like the audit log's, refuse UPDATE, DELETE
and TRUNCATE on ``ledger_postings`` and ``ledger_entries``; an insert into ``ledger_entries`` adds
its amount to its account's ``balance`` (whose CHECK keeps every account but a community's source
accounts at or above zero), and a deferred constraint trigger refuses, at commit, a posting whose
entries do not sum to zero per unit.

Revision ID: 0011_volunteers
Revises: 0010_commitments
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_volunteers"
down_revision: str | None = "0010_commitments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables or "table.column"s this revision drops or narrows (refused while they hold data unless
# --allow-data-loss; see app/migration_guard.py). The downgrade usually drops what upgrade creates.
destructive: list[str] = []
destructive_downgrade = [
    "volunteers",
    "volunteer_rules",
    "ledger_accounts",
    "ledger_postings",
    "ledger_entries",
    "service_records",
    "shop_items",
    "shop_donations",
    "shop_redemptions",
    "wishes",
    "pairings",
    "pairing_visits",
    "timebank_requests",
]
seeded_downgrade: list[str] = []

LEDGER_TRIGGERS = [
    """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
""",
    """
CREATE TRIGGER ledger_postings_no_update_delete BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
""",
    """
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
""",
    """
CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
""",
    """
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
""",
    """
CREATE FUNCTION ledger_entry_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account_unit text;
BEGIN
    UPDATE ledger_accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id
        RETURNING unit INTO account_unit;
    IF account_unit IS DISTINCT FROM NEW.unit THEN
        RAISE EXCEPTION 'ledger entry in % on an account kept in %', NEW.unit, account_unit
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_apply()
""",
    """
CREATE FUNCTION ledger_posting_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT FROM ledger_entries WHERE posting_id = NEW.posting_id GROUP BY unit HAVING sum(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'ledger posting % does not balance', NEW.posting_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced()
""",
]
DROP_LEDGER_TRIGGERS = [
    "DROP TRIGGER ledger_entries_balanced ON ledger_entries",
    "DROP TRIGGER ledger_entries_apply ON ledger_entries",
    "DROP TRIGGER ledger_entries_no_truncate ON ledger_entries",
    "DROP TRIGGER ledger_entries_no_update_delete ON ledger_entries",
    "DROP TRIGGER ledger_postings_no_truncate ON ledger_postings",
    "DROP TRIGGER ledger_postings_no_update_delete ON ledger_postings",
    "DROP FUNCTION ledger_posting_balanced()",
    "DROP FUNCTION ledger_entry_apply()",
    "DROP FUNCTION ledger_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "shop_items",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("points > 0", name=op.f("ck_shop_items_points_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_shop_items_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_shop_items_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_items")),
    )
    op.create_index(op.f("ix_shop_items_area_id"), "shop_items", ["area_id"], unique=False)
    op.create_index("ix_shop_items_created_at_id", "shop_items", ["created_at", "id"], unique=False)
    op.create_table(
        "volunteer_rules",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("points_per_hour", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("daily_cap_minutes", sa.Integer(), nullable=False),
        sa.Column("wish_claim_days", sa.Integer(), nullable=False),
        sa.Column("wish_points", sa.Integer(), nullable=False),
        sa.Column("points_expiry_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_volunteer_rules_area_id_areas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("area_id", name=op.f("pk_volunteer_rules")),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("source_key", sa.String(length=80), nullable=False),
        sa.Column("reverses_id", sa.UUID(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("posted_by", sa.UUID(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "kind in ('service','grant','redemption','wish',"
            "'timebank_hold','timebank_pay','timebank_release','reversal')",
            name=op.f("ck_ledger_postings_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_ledger_postings_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["users.id"], name=op.f("fk_ledger_postings_posted_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_postings.id"],
            name=op.f("fk_ledger_postings_reverses_id_ledger_postings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_postings_reverses_id")),
        sa.UniqueConstraint("source_key", name=op.f("uq_ledger_postings_source_key")),
    )
    op.create_index(op.f("ix_ledger_postings_area_id"), "ledger_postings", ["area_id"], unique=False)
    op.create_index("ix_ledger_postings_posted_at_id", "ledger_postings", ["posted_at", "id"], unique=False)
    op.create_table(
        "shop_donations",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("donor", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.UUID(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shop_donations_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_shop_donations_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["shop_items.id"], name=op.f("fk_shop_donations_item_id_shop_items"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_shop_donations_recorded_by_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_donations")),
    )
    op.create_index(op.f("ix_shop_donations_area_id"), "shop_donations", ["area_id"], unique=False)
    op.create_index(op.f("ix_shop_donations_item_id"), "shop_donations", ["item_id"], unique=False)
    op.create_table(
        "volunteers",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("resident_id", sa.UUID(), nullable=True),
        sa.Column("party_registration", sa.String(length=16), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("skills", postgresql.ARRAY(sa.String(length=50)), server_default="{}", nullable=False),
        sa.Column("talent_category", sa.String(length=50), nullable=True),
        sa.Column("availability", sa.String(length=200), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "kind in ('resident','party_member','cadre','student','team','unit')", name=op.f("ck_volunteers_kind_known")
        ),
        sa.CheckConstraint(
            "party_registration is null or party_registration in ('in_service','double','local')",
            name=op.f("ck_volunteers_party_registration_known"),
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_volunteers_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_volunteers_resident_id_residents"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteers")),
    )
    op.create_index(op.f("ix_volunteers_area_id"), "volunteers", ["area_id"], unique=False)
    op.create_index("ix_volunteers_created_at_id", "volunteers", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_volunteers_phone_index"), "volunteers", ["phone_index"], unique=False)
    op.create_index(op.f("ix_volunteers_resident_id"), "volunteers", ["resident_id"], unique=False)
    op.create_table(
        "ledger_accounts",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("volunteer_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("owner_key", sa.String(length=80), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("kind = 'source' or balance >= 0", name=op.f("ck_ledger_accounts_balance_not_negative")),
        sa.CheckConstraint(
            "kind in ('volunteer','source','shop','escrow')", name=op.f("ck_ledger_accounts_kind_known")
        ),
        sa.CheckConstraint("unit in ('points','minutes')", name=op.f("ck_ledger_accounts_unit_known")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_ledger_accounts_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_ledger_accounts_volunteer_id_volunteers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("owner_key", "unit", name=op.f("uq_ledger_accounts_owner_key_unit")),
    )
    op.create_index(op.f("ix_ledger_accounts_area_id"), "ledger_accounts", ["area_id"], unique=False)
    op.create_index(op.f("ix_ledger_accounts_volunteer_id"), "ledger_accounts", ["volunteer_id"], unique=False)
    op.create_table(
        "pairings",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("household_id", sa.UUID(), nullable=False),
        sa.Column("helper_id", sa.UUID(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("frequency in ('weekly','monthly','festival')", name=op.f("ck_pairings_frequency_known")),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_pairings_area_id_areas"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["helper_id"], ["volunteers.id"], name=op.f("fk_pairings_helper_id_volunteers"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_pairings_household_id_households"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairings")),
        sa.UniqueConstraint("household_id", "helper_id", name=op.f("uq_pairings_household_id_helper_id")),
    )
    op.create_index(op.f("ix_pairings_area_id"), "pairings", ["area_id"], unique=False)
    op.create_index("ix_pairings_created_at_id", "pairings", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_pairings_helper_id"), "pairings", ["helper_id"], unique=False)
    op.create_index(op.f("ix_pairings_household_id"), "pairings", ["household_id"], unique=False)
    op.create_table(
        "shop_redemptions",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("volunteer_id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.UUID(), nullable=False),
        sa.Column("redeemed_by", sa.UUID(), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shop_redemptions_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_shop_redemptions_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["shop_items.id"], name=op.f("fk_shop_redemptions_item_id_shop_items"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_shop_redemptions_posting_id_ledger_postings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by"], ["users.id"], name=op.f("fk_shop_redemptions_redeemed_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_shop_redemptions_volunteer_id_volunteers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_redemptions")),
    )
    op.create_index(op.f("ix_shop_redemptions_area_id"), "shop_redemptions", ["area_id"], unique=False)
    op.create_index(op.f("ix_shop_redemptions_item_id"), "shop_redemptions", ["item_id"], unique=False)
    op.create_index(op.f("ix_shop_redemptions_volunteer_id"), "shop_redemptions", ["volunteer_id"], unique=False)
    op.create_table(
        "timebank_requests",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("requester_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("claimer_id", sa.UUID(), nullable=True),
        sa.Column("hold_posting_id", sa.UUID(), nullable=False),
        sa.Column("settle_posting_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status in ('open','claimed','done','cancelled')", name=op.f("ck_timebank_requests_status_known")
        ),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_timebank_requests_minutes_positive")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_timebank_requests_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["claimer_id"],
            ["volunteers.id"],
            name=op.f("fk_timebank_requests_claimer_id_volunteers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["hold_posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_timebank_requests_hold_posting_id_ledger_postings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["volunteers.id"],
            name=op.f("fk_timebank_requests_requester_id_volunteers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["settle_posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_timebank_requests_settle_posting_id_ledger_postings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timebank_requests")),
    )
    op.create_index(op.f("ix_timebank_requests_area_id"), "timebank_requests", ["area_id"], unique=False)
    op.create_index("ix_timebank_requests_created_at_id", "timebank_requests", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_timebank_requests_requester_id"), "timebank_requests", ["requester_id"], unique=False)
    op.create_table(
        "wishes",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("resident_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("budget_cap", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("registered_by", sa.UUID(), nullable=False),
        sa.Column("claimer_id", sa.UUID(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_claims", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proof_photo", sa.String(length=500), nullable=True),
        sa.Column("confirmed_by", sa.String(length=16), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posting_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "category in ('daily','study','health','company','other')", name=op.f("ck_wishes_category_known")
        ),
        sa.CheckConstraint(
            "status in ('open','claimed','fulfilled','confirmed','cancelled')", name=op.f("ck_wishes_status_known")
        ),
        sa.CheckConstraint("budget_cap > 0", name=op.f("ck_wishes_budget_positive")),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_wishes_area_id_areas"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["claimer_id"], ["volunteers.id"], name=op.f("fk_wishes_claimer_id_volunteers"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_wishes_posting_id_ledger_postings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["registered_by"], ["users.id"], name=op.f("fk_wishes_registered_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_wishes_resident_id_residents"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishes")),
    )
    op.create_index(op.f("ix_wishes_area_id"), "wishes", ["area_id"], unique=False)
    op.create_index(
        "ix_wishes_claim_expires_at",
        "wishes",
        ["claim_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'claimed'"),
    )
    op.create_index("ix_wishes_created_at_id", "wishes", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_wishes_resident_id"), "wishes", ["resident_id"], unique=False)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("posting_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_ledger_entries_posting_id_ledger_postings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_account_id"), "ledger_entries", ["account_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_posting_id"), "ledger_entries", ["posting_id"], unique=False)
    op.create_table(
        "pairing_visits",
        sa.Column("pairing_id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("diary_entry_id", sa.UUID(), nullable=True),
        sa.Column("issue_id", sa.UUID(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("mode in ('home','phone')", name=op.f("ck_pairing_visits_mode_known")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_pairing_visits_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["diary_entry_id"],
            ["diary_entries.id"],
            name=op.f("fk_pairing_visits_diary_entry_id_diary_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_pairing_visits_issue_id_issues"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"], ["pairings.id"], name=op.f("fk_pairing_visits_pairing_id_pairings"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_pairing_visits_recorded_by_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_visits")),
    )
    op.create_index(op.f("ix_pairing_visits_area_id"), "pairing_visits", ["area_id"], unique=False)
    op.create_index(op.f("ix_pairing_visits_pairing_id"), "pairing_visits", ["pairing_id"], unique=False)
    op.create_index("ix_pairing_visits_pairing_visited", "pairing_visits", ["pairing_id", "visited_at"], unique=False)
    op.create_table(
        "service_records",
        sa.Column("volunteer_id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("activity_type", sa.String(length=32), nullable=False),
        sa.Column("activity", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="submitted", nullable=False),
        sa.Column("wish_id", sa.UUID(), nullable=True),
        sa.Column("pairing_id", sa.UUID(), nullable=True),
        sa.Column("submitted_by", sa.UUID(), nullable=False),
        sa.Column("verified_by", sa.UUID(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("posting_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status in ('submitted','verified','rejected')", name=op.f("ck_service_records_status_known")
        ),
        sa.CheckConstraint("ended_at > started_at", name=op.f("ck_service_records_ends_after_start")),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_service_records_minutes_positive")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_service_records_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"], ["pairings.id"], name=op.f("fk_service_records_pairing_id_pairings"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_service_records_posting_id_ledger_postings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["users.id"], name=op.f("fk_service_records_submitted_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"], ["users.id"], name=op.f("fk_service_records_verified_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_service_records_volunteer_id_volunteers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["wish_id"], ["wishes.id"], name=op.f("fk_service_records_wish_id_wishes"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_records")),
    )
    op.create_index(op.f("ix_service_records_area_id"), "service_records", ["area_id"], unique=False)
    op.create_index("ix_service_records_created_at_id", "service_records", ["created_at", "id"], unique=False)
    op.create_index("ix_service_records_volunteer_day", "service_records", ["volunteer_id", "served_on"], unique=False)
    op.create_index(op.f("ix_service_records_volunteer_id"), "service_records", ["volunteer_id"], unique=False)

    for statement in LEDGER_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_LEDGER_TRIGGERS:
        op.execute(statement)
    op.drop_index(op.f("ix_service_records_volunteer_id"), table_name="service_records")
    op.drop_index("ix_service_records_volunteer_day", table_name="service_records")
    op.drop_index("ix_service_records_created_at_id", table_name="service_records")
    op.drop_index(op.f("ix_service_records_area_id"), table_name="service_records")
    op.drop_table("service_records")
    op.drop_index("ix_pairing_visits_pairing_visited", table_name="pairing_visits")
    op.drop_index(op.f("ix_pairing_visits_pairing_id"), table_name="pairing_visits")
    op.drop_index(op.f("ix_pairing_visits_area_id"), table_name="pairing_visits")
    op.drop_table("pairing_visits")
    op.drop_index(op.f("ix_ledger_entries_posting_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_account_id"), table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index(op.f("ix_wishes_resident_id"), table_name="wishes")
    op.drop_index("ix_wishes_created_at_id", table_name="wishes")
    op.drop_index("ix_wishes_claim_expires_at", table_name="wishes", postgresql_where=sa.text("status = 'claimed'"))
    op.drop_index(op.f("ix_wishes_area_id"), table_name="wishes")
    op.drop_table("wishes")
    op.drop_index(op.f("ix_timebank_requests_requester_id"), table_name="timebank_requests")
    op.drop_index("ix_timebank_requests_created_at_id", table_name="timebank_requests")
    op.drop_index(op.f("ix_timebank_requests_area_id"), table_name="timebank_requests")
    op.drop_table("timebank_requests")
    op.drop_index(op.f("ix_shop_redemptions_volunteer_id"), table_name="shop_redemptions")
    op.drop_index(op.f("ix_shop_redemptions_item_id"), table_name="shop_redemptions")
    op.drop_index(op.f("ix_shop_redemptions_area_id"), table_name="shop_redemptions")
    op.drop_table("shop_redemptions")
    op.drop_index(op.f("ix_pairings_household_id"), table_name="pairings")
    op.drop_index(op.f("ix_pairings_helper_id"), table_name="pairings")
    op.drop_index("ix_pairings_created_at_id", table_name="pairings")
    op.drop_index(op.f("ix_pairings_area_id"), table_name="pairings")
    op.drop_table("pairings")
    op.drop_index(op.f("ix_ledger_accounts_volunteer_id"), table_name="ledger_accounts")
    op.drop_index(op.f("ix_ledger_accounts_area_id"), table_name="ledger_accounts")
    op.drop_table("ledger_accounts")
    op.drop_index(op.f("ix_volunteers_resident_id"), table_name="volunteers")
    op.drop_index(op.f("ix_volunteers_phone_index"), table_name="volunteers")
    op.drop_index("ix_volunteers_created_at_id", table_name="volunteers")
    op.drop_index(op.f("ix_volunteers_area_id"), table_name="volunteers")
    op.drop_table("volunteers")
    op.drop_index(op.f("ix_shop_donations_item_id"), table_name="shop_donations")
    op.drop_index(op.f("ix_shop_donations_area_id"), table_name="shop_donations")
    op.drop_table("shop_donations")
    op.drop_index("ix_ledger_postings_posted_at_id", table_name="ledger_postings")
    op.drop_index(op.f("ix_ledger_postings_area_id"), table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_table("volunteer_rules")
    op.drop_index("ix_shop_items_created_at_id", table_name="shop_items")
    op.drop_index(op.f("ix_shop_items_area_id"), table_name="shop_items")
    op.drop_table("shop_items")
