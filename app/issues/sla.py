"""Deadlines (时限) on calendar hours or working days, and the SLA policies that set them.

Everything rests on a *business clock*: a monotonic map from instants to "business seconds".
For calendar-hour policies business time is plain elapsed time. For working-day policies each
working day of the :class:`WorkCalendar` contributes 24 business hours, from 00:00 to 24:00
local time, and every other day contributes nothing. Adding an amount to a start and mapping
back gives the deadline; subtracting two readings gives time that counts.

Working-day rules:

* Weekends are off, public holidays are off, make-up working days (调休, often a Saturday or a
  Sunday) are on. Days are reckoned in the calendar's time zone (default Asia/Shanghai).
* The time of day is kept: Friday 15:00 + 1 working day is Monday 15:00 when Monday works.
* A start on a non-working day counts from the next working day's 00:00, and a deadline that
  falls on a day boundary is the *end* of the last working day counted: 3 working days from a
  Saturday end at 24:00 on the third working day, not at the start of the fourth.
* On a day that is not 24 hours long (a daylight-saving change, in zones that have one) the real
  day is stretched or squeezed linearly onto 24 business hours, so the clock never runs backwards
  and maps back exactly; the time of day is then kept only approximately.

A suspension (挂起) stops the clock: the business time spent suspended is added to the deadline,
so a pause over a weekend does not move a working-day deadline at all.

Business seconds are floats counted from 1970-01-01; instants in counted time round-trip to the
microsecond.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, Self
from zoneinfo import ZoneInfo

from app.issues.workflow import Kind, Priority

DEFAULT_TIME_ZONE = "Asia/Shanghai"
DEFAULT_CALENDAR_FILE = Path(__file__).with_name("holidays_cn.json")

DUE_SOON_SHARE = 0.2
"""An issue is due soon (预警) in the last 20 % of its window, measured in business time."""

_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORIGIN = date(1970, 1, 1)


class Unit(StrEnum):
    HOURS = "hours"  # calendar hours (自然时)
    WORKING_DAYS = "working_days"  # 工作日


UNIT_LABELS: dict[Unit, str] = {Unit.HOURS: "小时", Unit.WORKING_DAYS: "工作日"}
UNIT_SECONDS: dict[Unit, int] = {Unit.HOURS: 3600, Unit.WORKING_DAYS: 86400}


def _weekdays_before(ordinal: int) -> int:
    """Mondays to Fridays among the day ordinals ``1 .. ordinal - 1`` (ordinal 1 is a Monday)."""
    weeks, rest = divmod(ordinal - 1, 7)
    return weeks * 5 + min(rest, 5)


def _count_between(sorted_dates: tuple[date, ...], start: date, end: date) -> int:
    return bisect_left(sorted_dates, end) - bisect_left(sorted_dates, start)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days, in one time zone.

    ``holidays`` are dates off; ``workdays`` are make-up working days (调休上班) that fall on a
    weekend. A date may not be both.
    """

    tz: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIME_ZONE))
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()
    """The years whose holidays the calendar lists; outside them only weekends are days off."""

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates cannot be both a holiday and a make-up working day: {listed}")

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    @cached_property
    def _weekday_holidays(self) -> tuple[date, ...]:
        return tuple(sorted(d for d in self.holidays if d.weekday() < 5))

    @cached_property
    def _weekend_workdays(self) -> tuple[date, ...]:
        return tuple(sorted(d for d in self.workdays if d.weekday() >= 5))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``[start, end)``; negative when ``end`` is before ``start``."""
        if end < start:
            return -self.working_days_between(end, start)
        weekdays = _weekdays_before(end.toordinal()) - _weekdays_before(start.toordinal())
        return (
            weekdays
            - _count_between(self._weekday_holidays, start, end)
            + _count_between(self._weekend_workdays, start, end)
        )

    def nth_working_day(self, n: int) -> date:
        """The working day with exactly ``n`` working days between 1970-01-01 and it."""
        guess = _ORIGIN + timedelta(days=n * 7 // 5)
        margin = timedelta(days=14 + len(self._weekday_holidays))
        low, high = guess - margin, guess + margin
        while self.working_days_between(_ORIGIN, low) > n:
            low -= margin
        while self.working_days_between(_ORIGIN, high) <= n:
            high += margin
        # the first day whose following day has more than n working days before it
        lo, hi = low.toordinal(), high.toordinal()
        while lo < hi:
            mid = (lo + hi) // 2
            if self.working_days_between(_ORIGIN, date.fromordinal(mid + 1)) > n:
                hi = mid
            else:
                lo = mid + 1
        return date.fromordinal(lo)

    @classmethod
    def from_json(cls, source: str | Path | Mapping[str, Any], tz: str | tzinfo | None = None) -> Self:
        """Load a calendar from a JSON file (path) or an already parsed mapping.

        The format is that of ``holidays_cn.json``: an optional ``timezone``, and ``holidays``
        (dates, or ``{"from", "to", "workdays"}`` ranges) and ``workdays`` (dates) at the top
        level or inside each entry of ``years``. ``tz`` overrides the file's time zone.
        """
        data: Mapping[str, Any]
        if isinstance(source, Mapping):
            data = source
        else:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        zone = tz if tz is not None else data.get("timezone", DEFAULT_TIME_ZONE)
        holidays: set[date] = set()
        workdays: set[date] = set()
        for block in [data, *data.get("years", [])]:
            _collect(block, holidays, workdays)
        # Covered: the years listed in ``years``, else every year a listed date falls in.
        years = {int(block["year"]) for block in data.get("years", []) if "year" in block}
        years |= {d.year for d in holidays | workdays} if not years else set()
        return cls(
            tz=ZoneInfo(zone) if isinstance(zone, str) else zone,
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            years=frozenset(years),
        )


def _collect(block: Mapping[str, Any], holidays: set[date], workdays: set[date]) -> None:
    workdays.update(date.fromisoformat(d) for d in block.get("workdays", []))
    for entry in block.get("holidays", []):
        if isinstance(entry, str):
            holidays.add(date.fromisoformat(entry))
            continue
        first = date.fromisoformat(entry["from"])
        last = date.fromisoformat(entry.get("to", entry["from"]))
        if last < first:
            raise ValueError(f"holiday {entry.get('name', '')!r} ends before it starts")
        holidays.update(first + timedelta(days=i) for i in range((last - first).days + 1))
        workdays.update(date.fromisoformat(d) for d in entry.get("workdays", []))


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"an aware datetime is required, got {dt!r}")


@dataclass(frozen=True)
class BusinessClock:
    """Maps instants to business seconds and back, for one calendar and one unit.

    :meth:`to_business` takes aware datetimes in any zone; :meth:`from_business` returns aware
    datetimes in the calendar's zone.
    """

    calendar: WorkCalendar
    unit: Unit

    def _day_start(self, day: date) -> datetime:
        """The first instant of ``day`` locally, in UTC (the later reading if midnight repeats)."""
        midnight = datetime.combine(day, time(), tzinfo=self.calendar.tz)
        return max(midnight.astimezone(UTC), midnight.replace(fold=1).astimezone(UTC))

    def _day_of(self, instant: datetime) -> date:
        day = instant.astimezone(self.calendar.tz).date()
        while instant < self._day_start(day):
            day -= timedelta(days=1)
        while instant >= self._day_start(day + timedelta(days=1)):
            day += timedelta(days=1)
        return day

    def to_business(self, dt: datetime) -> float:
        """Business seconds at ``dt``; constant across non-working days."""
        _require_aware(dt)
        if self.unit is Unit.HOURS:
            return (dt - _EPOCH) / timedelta(seconds=1)
        day = self._day_of(dt)
        before = self.calendar.working_days_between(_ORIGIN, day) * 86400
        if not self.calendar.is_working_day(day):
            return float(before)
        start = self._day_start(day)
        length_us = (self._day_start(day + timedelta(days=1)) - start) // timedelta(microseconds=1)
        elapsed_us = (dt - start) // timedelta(microseconds=1)
        return before + elapsed_us * 86400 / length_us

    def from_business(self, x: float) -> datetime:
        """The earliest instant whose business time is ``x``, in the calendar's zone."""
        total_us = round(x * 1_000_000)
        if self.unit is Unit.HOURS:
            return (_EPOCH + timedelta(microseconds=total_us)).astimezone(self.calendar.tz)
        index, rest_us = divmod(total_us, _DAY_US)
        if rest_us == 0:
            # a day boundary: the end of the previous working day, not the start of the next
            day = self.calendar.nth_working_day(index - 1) + timedelta(days=1)
            return self._day_start(day).astimezone(self.calendar.tz)
        day = self.calendar.nth_working_day(index)
        start = self._day_start(day)
        length_us = (self._day_start(day + timedelta(days=1)) - start) // timedelta(microseconds=1)
        offset_us = rest_us if length_us == _DAY_US else round(rest_us * length_us / _DAY_US)
        return (start + timedelta(microseconds=offset_us)).astimezone(self.calendar.tz)


def deadline(
    start: datetime,
    amount: float,
    unit: Unit,
    calendar: WorkCalendar,
    paused_seconds_business: float = 0.0,
    extension: float = 0.0,
) -> datetime:
    """When ``amount`` hours or working days from ``start`` run out.

    ``paused_seconds_business`` (business time spent suspended) is added as business time;
    ``extension`` is the total approved extension (延期), in the same unit as ``amount``. The
    result is in ``start``'s zone and never before ``start``.
    """
    clock = BusinessClock(calendar, unit)
    end = clock.to_business(start) + (amount + extension) * UNIT_SECONDS[unit] + paused_seconds_business
    return max(clock.from_business(end), start).astimezone(start.tzinfo)


class SlaState(StrEnum):
    ON_TRACK = "on_track"  # 正常
    DUE_SOON = "due_soon"  # 预警
    OVERDUE = "overdue"  # 超期


SLA_STATE_LABELS: dict[SlaState, str] = {
    SlaState.ON_TRACK: "正常",
    SlaState.DUE_SOON: "预警",
    SlaState.OVERDUE: "超期",
}


@dataclass(frozen=True)
class Duration:
    amount: float
    unit: Unit

    @property
    def business_seconds(self) -> float:
        return self.amount * UNIT_SECONDS[self.unit]


def hours(amount: float) -> Duration:
    return Duration(amount, Unit.HOURS)


def working_days(amount: float) -> Duration:
    return Duration(amount, Unit.WORKING_DAYS)


@dataclass(frozen=True)
class SlaPolicy:
    respond_within: Duration  # first acceptance or contact
    resolve_within: Duration


class PolicyKey(NamedTuple):
    """What a policy applies to; fields left ``None`` match anything.

    :func:`pick_policy` consults five shapes only: category and priority, category alone,
    priority alone, kind alone, and the empty key (the global default).
    """

    category: str | None = None
    priority: Priority | None = None
    kind: Kind | None = None


UTILITIES = "utilities"
"""Category code for water, power, gas and heat supply (水电气暖)."""

ORDINARY_POLICY = SlaPolicy(respond_within=hours(24), resolve_within=hours(7 * 24))
URGENT_POLICY = SlaPolicy(respond_within=hours(2), resolve_within=hours(24))

# 12345 defaults (docs/domain.md). "7 days" and "15 days" are calendar days; deployments whose local
# rules say 工作日 configure working days instead.
DEFAULT_POLICIES: dict[PolicyKey, SlaPolicy] = {
    PolicyKey(): ORDINARY_POLICY,
    PolicyKey(priority=Priority.URGENT): URGENT_POLICY,
    PolicyKey(category=UTILITIES): SlaPolicy(respond_within=hours(24), resolve_within=hours(24)),
    # the category would otherwise shadow urgency's 2-hour response
    PolicyKey(category=UTILITIES, priority=Priority.URGENT): URGENT_POLICY,
    PolicyKey(kind=Kind.CONSULTATION): SlaPolicy(respond_within=hours(24), resolve_within=working_days(3)),
    PolicyKey(kind=Kind.HELP): SlaPolicy(respond_within=hours(24), resolve_within=working_days(3)),
}


def pick_policy(
    category: str | None,
    priority: Priority | None,
    kind: Kind | None,
    policies: Mapping[PolicyKey, SlaPolicy] = DEFAULT_POLICIES,
) -> SlaPolicy:
    """The policy for an issue: the first of these keys present in ``policies`` wins.

    1. category × priority, 2. category, 3. priority, 4. kind, 5. the global default (empty
    key). An urgent consultation therefore gets the urgent policy, an ordinary one the
    consultation policy. Raises ``LookupError`` when nothing matches and there is no default.
    """
    candidates = [
        PolicyKey(category, priority) if category is not None and priority is not None else None,
        PolicyKey(category=category) if category is not None else None,
        PolicyKey(priority=priority) if priority is not None else None,
        PolicyKey(kind=kind) if kind is not None else None,
        PolicyKey(),
    ]
    for key in candidates:
        if key is not None and key in policies:
            return policies[key]
    raise LookupError("the SLA policy table has no global default (an empty PolicyKey)")
