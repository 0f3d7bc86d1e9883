"""Links between domains: a diary entry escalated into an issue (both ways), disputes linked to issues.

Revision ID: 0004_links
Revises: 0003_community
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0004_links"
down_revision: str | None = "0003_community"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade = ["issues.diary_entry_id"]


def upgrade() -> None:
    op.add_column("issues", sa.Column("diary_entry_id", pg.UUID(as_uuid=True), nullable=True))
    op.create_foreign_key(
        "fk_issues_diary_entry_id_diary_entries",
        "issues",
        "diary_entries",
        ["diary_entry_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index("ix_issues_diary_entry_id", "issues", ["diary_entry_id"])
    op.create_foreign_key(
        "fk_diary_entries_issue_id_issues", "diary_entries", "issues", ["issue_id"], ["id"], ondelete="SET NULL"
    )
    op.create_foreign_key(
        "fk_disputes_issue_id_issues", "disputes", "issues", ["issue_id"], ["id"], ondelete="SET NULL"
    )


def downgrade() -> None:
    op.drop_constraint("fk_disputes_issue_id_issues", "disputes", type_="foreignkey")
    op.drop_constraint("fk_diary_entries_issue_id_issues", "diary_entries", type_="foreignkey")
    op.drop_index("ix_issues_diary_entry_id", table_name="issues")
    op.drop_constraint("fk_issues_diary_entry_id_diary_entries", "issues", type_="foreignkey")
    op.drop_column("issues", "diary_entry_id")
