"""The shipped holiday calendar: right for the years it lists, and loud when it no longer covers today."""

from __future__ import annotations

import datetime as dt

import pytest

from app.issues.sla import DEFAULT_CALENDAR_FILE, WorkCalendar
from app.kit import clock


def test_shipped_calendar_agrees_with_an_independent_source_day_by_day():
    """Every day of every year both know: working day here ⇔ working day in ``chinese-calendar``
    (the State Council's schedules as published, 调休 included)."""
    chinese_calendar = pytest.importorskip("chinese_calendar")
    from chinese_calendar import constants

    shipped = WorkCalendar.from_json(DEFAULT_CALENDAR_FILE)
    known = {day.year for day in constants.holidays} | {day.year for day in constants.workdays}
    years = sorted(shipped.years & known)
    assert years, f"no year in common: shipped {sorted(shipped.years)}, chinese-calendar {sorted(known)}"
    wrong = []
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year:
            if shipped.is_working_day(day) != chinese_calendar.is_workday(day):
                wrong.append(f"{day} ({'working' if chinese_calendar.is_workday(day) else 'day off'} officially)")
            day += dt.timedelta(days=1)
    assert wrong == []


def test_covered_years_are_the_listed_years():
    shipped = WorkCalendar.from_json(DEFAULT_CALENDAR_FILE)
    assert {2025, 2026} <= shipped.years
    assert WorkCalendar.from_json({"holidays": ["2031-10-01"]}).years == {2031}
    assert not WorkCalendar().covers(dt.date(2026, 1, 1))


async def test_ready_warns_when_the_calendar_does_not_cover_today(client, monkeypatch):
    r = await client.get("/ready")
    assert r.status_code == 200 and r.json()["warnings"] == []

    last = max(WorkCalendar.from_json(DEFAULT_CALENDAR_FILE).years)
    after = dt.datetime(last + 1, 3, 2, 4, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: after)
    r = await client.get("/ready")
    assert r.status_code == 200, r.text  # the service keeps serving; the operator is told
    (warning,) = r.json()["warnings"]
    assert f"does not cover {last + 1}" in warning and "MINQING_HOLIDAY_CALENDAR_FILE" in warning
