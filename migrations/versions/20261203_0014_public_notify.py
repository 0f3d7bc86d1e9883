"""Wake-up calls for kept public notices: a statement trigger on areas, commitment lists and
items notifies ``minqing_public`` on commit, so every process drops the notice ETags it keeps.

Revision ID: 0014_public_notify
Revises: 0013_commitment_links
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_public_notify"
down_revision: str | None = "0013_commitment_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade: list[str] = []
seeded_downgrade: list[str] = []

TABLES = ("areas", "commitment_lists", "commitment_items")


def upgrade() -> None:
    op.execute(
        """
CREATE FUNCTION public_notice_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A wake-up call only (identical payloads fold into one per transaction): what a public
    -- notice is built from changed, so a notice's ETag kept by any process is to be read anew.
    PERFORM pg_notify('minqing_public', '');
    RETURN NULL;
END
$$
"""
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_public_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION public_notice_notify()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_public_notify ON {table}")
    op.execute("DROP FUNCTION public_notice_notify()")
