"""Schedule arithmetic of a commitment's target (pure; no database, no clock).

A commitment of the year ``Y`` has a target made of a recurring schedule and/or one-off milestones.
Each recurring schedule is a list of due dates within ``Y`` — its occurrences:

- ``monthly`` on day N (每月10日): the N-th of every month (the month's last day when shorter);
- ``quarterly`` (每季度末): the last day of March, June, September and December;
- ``at_least`` N times a year (全年不少于5次): spread evenly, the k-th due on day ⌊k·D/N⌋ of the
  year of D days, the last on 31 December;
- ``season`` N times between two dates (暑期 07-01 … 08-31 不少于2次): spread evenly over the window,
  the last due on its last day; only activities inside the window count;
- ``range`` between N and M times a year (一年1-2次): due like ``at_least`` N; done at N, M the most
  that is planned.

An occurrence is *expected* once its due day is over in local time (Asia/Shanghai by default): a
clean-up day due on the 10th is behind from local midnight starting the 11th, never during the
10th. A day before the year expects nothing; a day after it expects everything.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

KINDS = ("monthly", "quarterly", "at_least", "season", "range")


def _month_day(text: str) -> tuple[int, int]:
    month, day = (int(p) for p in text.split("-"))
    return month, day


def _day_of(year: int, month_day: str) -> dt.date:
    month, day = _month_day(month_day)
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _spread(first: dt.date, last: dt.date, times: int) -> list[dt.date]:
    """``times`` due dates spread evenly over ``first`` … ``last``, the last one on ``last``."""
    length = (last - first).days + 1
    return [first + dt.timedelta(days=(k * length) // times - 1) for k in range(1, times + 1)]


def window(schedule: dict[str, Any], year: int) -> tuple[dt.date, dt.date]:
    """The days whose activities count towards ``schedule`` in ``year``."""
    if schedule["kind"] == "season":
        return _day_of(year, schedule["start"]), _day_of(year, schedule["end"])
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def due_dates(schedule: dict[str, Any], year: int) -> list[dt.date]:
    kind = schedule["kind"]
    if kind == "monthly":
        day = int(schedule["day"])
        return [dt.date(year, m, min(day, calendar.monthrange(year, m)[1])) for m in range(1, 13)]
    if kind == "quarterly":
        return [dt.date(year, m, calendar.monthrange(year, m)[1]) for m in (3, 6, 9, 12)]
    first, last = window(schedule, year)
    if kind == "at_least" or kind == "season":
        return _spread(first, last, int(schedule["times"]))
    if kind == "range":
        return _spread(first, last, int(schedule["min"]))
    raise ValueError(f"unknown schedule kind {kind!r}")


def counts(schedule: dict[str, Any] | None, year: int, day: dt.date) -> bool:
    """Whether an activity on local ``day`` counts towards ``schedule`` of ``year``."""
    if schedule is None:
        return day.year == year
    first, last = window(schedule, year)
    return first <= day <= last


def expected(dates: list[dt.date], today: dt.date) -> int:
    """Occurrences whose due day is over by local ``today``."""
    return sum(1 for d in dates if d < today)


def local_day(at: dt.datetime, zone: Any) -> dt.date:
    return at.astimezone(zone).date()


ON_TRACK, BEHIND, DONE = "on_track", "behind", "done"
ONCE: dict[str, Any] = {"kind": "at_least", "times": 1}
"""The target of an item that names none: done once within the year."""


@dataclass(frozen=True)
class Progress:
    """One item's progress: occurrences ``expected`` by today and ``done``, of ``total`` planned."""

    total: int
    expected: int
    done: int
    status: str
    next_due: dt.date | None

    @property
    def percent(self) -> int:
        """Completion in whole percent, rounded down (100 only when done)."""
        return 100 if self.total == 0 else (100 * min(self.done, self.total)) // self.total


def progress(
    schedule: dict[str, Any] | None, milestones: list[dict[str, Any]], done_count: int, year: int, today: dt.date
) -> Progress:
    """The progress of an item with ``done_count`` counted activities and its ``milestones``
    (``{"title", "due", "done_on"}``; dates as ISO text) on local ``today``."""
    if schedule is None and not milestones:
        schedule = ONCE
    total = expected_n = done = 0
    behind = False
    upcoming: list[dt.date] = []
    if schedule is not None:
        dates = due_dates(schedule, year)
        e = expected(dates, today)
        d = min(done_count, len(dates))
        total, expected_n, done = len(dates), e, d
        behind = d < e
        upcoming += [x for x in dates[d:] if x >= today][:1]
    for m in milestones:
        due = dt.date.fromisoformat(m["due"])
        total += 1
        if due < today:
            expected_n += 1
        if m.get("done_on"):
            done += 1
        elif due < today:
            behind = True
        else:
            upcoming.append(due)
    status = DONE if done >= total else BEHIND if behind else ON_TRACK
    return Progress(total=total, expected=expected_n, done=done, status=status, next_due=min(upcoming, default=None))
