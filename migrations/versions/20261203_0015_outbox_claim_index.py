"""The outbox relay's claim reads the unprocessed messages in id order from an index that holds
only them: ``ix_outbox_unprocessed (id) WHERE processed_at IS NULL`` replaces ``(available_at,
id)``, which the claim's ``ORDER BY id`` could not use. The claim had walked the day partition's
primary key past every message already processed that day: the later in the day, the slower
(12 ms at 25,000 processed, against 1 ms).

Revision ID: 0015_outbox_claim_index
Revises: 0014_public_notify
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_outbox_claim_index"
down_revision: str | None = "0014_public_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
destructive: list[str] = []
destructive_downgrade: list[str] = []
seeded_downgrade: list[str] = []


def upgrade() -> None:
    # On the partitioned table: created on every partition, and on each new one by PostgreSQL.
    op.execute("CREATE INDEX ix_outbox_unprocessed ON outbox (id) WHERE processed_at IS NULL")
    op.execute("DROP INDEX ix_outbox_available_at")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_outbox_available_at ON outbox (available_at, id) WHERE processed_at IS NULL")
    op.execute("DROP INDEX ix_outbox_unprocessed")
