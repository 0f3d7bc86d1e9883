"""The aggregate tables kept by the triggers of migrations ``0007_stats`` and ``0008_stats_rollup``
(SQLAlchemy Core).

They hold delta rows: a key (area, day[, category]) may have several rows until ``stats_compact()``
folds them, so every read sums rows. ``stats_issue_daily`` is keyed by the issue's own area;
``stats_issue_rollup`` holds the same counters keyed by each ancestor of the issue's area, so the
figures of a whole subtree are the rows of one area id in both tables (its rollup rows: everything
below it; its daily rows: its own issues).

Each counter is counted on its own day (local time zone): see :mod:`app.stats.service` for the
rules. The column lists here must equal the migration's (a test compares them with the database).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from app.diary.models import DiaryStatus
from app.issues.workflow import Channel, Kind, Status, Tier
from app.mediation.models import RiskLevel

metadata = sa.MetaData()

STATUSES = [s.value for s in Status]
KINDS = [k.value for k in Kind]
CHANNELS = [c.value for c in Channel]
TIERS = [t.value for t in Tier]
RISKS = [r.value for r in RiskLevel]
DIARY_STATUSES = [s.value for s in DiaryStatus]

RATE_COUNTERS = [
    "response_due",
    "responded_on_time",
    "evaluated",
    "solved",
    "satisfied",
    "resolved",
    "resolved_on_time",
    "closed",
    "closed_grid_level",
    "closed_community_level",
]
ISSUE_COUNTERS = [
    "created",
    *(f"status_{s}" for s in STATUSES),
    *(f"kind_{k}" for k in KINDS),
    *(f"channel_{c}" for c in CHANNELS),
    *(f"tier_{t}" for t in TIERS),
    *RATE_COUNTERS,
]
DIARY_COUNTERS = ["logged", "visits", *(f"status_{s}" for s in DIARY_STATUSES)]
DISPUTE_COUNTERS = [
    "registered",
    *(f"risk_{r}" for r in RISKS),
    "mediated",
    "agreements",
    "referred",
    "stable_at_follow_up",
]


def _counters(names: list[str], type_: type[sa.types.TypeEngine] = sa.BigInteger) -> list[sa.Column]:
    return [sa.Column(n, type_, nullable=False) for n in names]


def _issue_table(name: str, counter_type: type[sa.types.TypeEngine]) -> sa.Table:
    """Issue counters per (area, category, local day)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("area_id", UUID(as_uuid=True), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counters(ISSUE_COUNTERS, counter_type),
    )


issue_daily = _issue_table("stats_issue_daily", sa.BigInteger)
issue_rollup = _issue_table("stats_issue_rollup", sa.Integer)
"""``stats_issue_daily`` summed per ancestor: a row of area X counts the issues strictly below X."""
diary_daily = sa.Table(
    "stats_diary_daily",
    metadata,
    sa.Column("area_id", UUID(as_uuid=True), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    *_counters(DIARY_COUNTERS),
)
dispute_daily = sa.Table(
    "stats_dispute_daily",
    metadata,
    sa.Column("area_id", UUID(as_uuid=True), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    *_counters(DISPUTE_COUNTERS),
)
area_changes = sa.Table(
    "stats_area_changes",
    metadata,
    sa.Column("area_id", UUID(as_uuid=True), nullable=False),
    sa.Column("changes", sa.BigInteger, nullable=False),
)
subtree_changes = sa.Table(
    "stats_subtree_changes",
    metadata,
    sa.Column("area_id", UUID(as_uuid=True), nullable=False),
    sa.Column("changes", sa.BigInteger, nullable=False),
)
"""Every change counted under each ancestor of its area too (migration ``0009``): the ETag of a
subtree is one area's rows."""
