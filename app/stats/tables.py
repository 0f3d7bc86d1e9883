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


def _fresh() -> sa.Column:
    """Delta rows not yet folded by ``stats_compact()`` (the triggers insert them so)."""
    return sa.Column("fresh", sa.Boolean, server_default=sa.true(), nullable=False)


def _fresh_index(name: str, *columns: str) -> sa.Index:
    return sa.Index(f"ix_{name}_fresh", *columns, postgresql_where=sa.text("fresh"))


def _issue_table(name: str, counter_type: type[sa.types.TypeEngine]) -> sa.Table:
    """Issue counters per (area, category, local day)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("area_id", UUID(as_uuid=True), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counters(ISSUE_COUNTERS, counter_type),
        _fresh(),
        sa.Index(f"ix_{name}_area_id_day", "area_id", "day"),
        _fresh_index(name, "area_id", "day", "category"),
    )


def _daily_table(name: str, counters: list[str]) -> sa.Table:
    """Counters per (area, local day): 民情日记 and disputes."""
    return sa.Table(
        name,
        metadata,
        sa.Column("area_id", UUID(as_uuid=True), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counters(counters),
        _fresh(),
        sa.Index(f"ix_{name}_area_id_day", "area_id", "day"),
        _fresh_index(name, "area_id", "day"),
    )


issue_daily = _issue_table("stats_issue_daily", sa.BigInteger)
issue_rollup = _issue_table("stats_issue_rollup", sa.Integer)
"""``stats_issue_daily`` summed per ancestor: a row of area X counts the issues strictly below X."""
diary_daily = _daily_table("stats_diary_daily", DIARY_COUNTERS)
dispute_daily = _daily_table("stats_dispute_daily", DISPUTE_COUNTERS)
area_changes = sa.Table(
    "stats_area_changes",
    metadata,
    sa.Column("area_id", UUID(as_uuid=True), nullable=False),
    sa.Column("changes", sa.BigInteger, nullable=False),
    _fresh(),
    sa.Index("ix_stats_area_changes_area_id", "area_id"),
    _fresh_index("stats_area_changes", "area_id"),
)
subtree_changes = sa.Table(
    "stats_subtree_changes",
    metadata,
    sa.Column("area_id", UUID(as_uuid=True), nullable=False),
    sa.Column("changes", sa.BigInteger, nullable=False),
    _fresh(),
    sa.Index("ix_stats_subtree_changes_area_id", "area_id", postgresql_include=["changes"]),
)
"""Every change counted under each ancestor of its area too (migration ``0009``): the ETag of a
subtree is one area's rows."""
settings = sa.Table(
    "stats_settings",
    metadata,
    sa.Column("id", sa.Boolean, server_default=sa.true(), nullable=False),
    sa.Column("timezone", sa.Text, nullable=False),
    sa.CheckConstraint("id", name="ck_stats_settings_single_row"),
    sa.PrimaryKeyConstraint("id", name="pk_stats_settings"),
)
"""One row: the time zone the aggregates' days are counted in (``stats_rebuild`` changes it)."""
