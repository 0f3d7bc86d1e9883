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


def _delta_table(name: str, columns: list[sa.Column], *indexes: sa.Index) -> sa.Table:
    """Counters per area (and the keys among ``columns``), in delta rows that stay ``fresh`` until
    ``stats_compact()`` folds them (the triggers insert them so)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("area_id", UUID(as_uuid=True), nullable=False),
        *columns,
        sa.Column("fresh", sa.Boolean, server_default=sa.true(), nullable=False),
        *indexes,
    )


def _fresh_index(name: str, *columns: str) -> sa.Index:
    return sa.Index(f"ix_{name}_fresh", *columns, postgresql_where=sa.text("fresh"))


def _daily_table(name: str, counters: list[sa.Column], *, by_category: bool = False) -> sa.Table:
    """Counters per (area, local day): issues (per category too), 民情日记 and disputes."""
    category = ["category"] if by_category else []
    return _delta_table(
        name,
        [
            *(sa.Column(c, sa.String(32), nullable=False) for c in category),
            sa.Column("day", sa.Date, nullable=False),
            *counters,
        ],
        sa.Index(f"ix_{name}_area_id_day", "area_id", "day"),
        _fresh_index(name, "area_id", "day", *category),
    )


issue_daily = _daily_table("stats_issue_daily", _counters(ISSUE_COUNTERS), by_category=True)
issue_rollup = _daily_table("stats_issue_rollup", _counters(ISSUE_COUNTERS, sa.Integer), by_category=True)
"""``stats_issue_daily`` summed per ancestor: a row of area X counts the issues strictly below X."""
diary_daily = _daily_table("stats_diary_daily", _counters(DIARY_COUNTERS))
dispute_daily = _daily_table("stats_dispute_daily", _counters(DISPUTE_COUNTERS))
area_changes = _delta_table(
    "stats_area_changes",
    _counters(["changes"]),
    sa.Index("ix_stats_area_changes_area_id", "area_id"),
    _fresh_index("stats_area_changes", "area_id"),
)
subtree_changes = _delta_table(
    "stats_subtree_changes",
    _counters(["changes"]),
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
