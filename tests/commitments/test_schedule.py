"""Schedule arithmetic of commitments: every kind, year and season boundaries, local midnight."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.commitments.schedule import counts, due_dates, expected, local_day, progress

D = dt.date
SH = ZoneInfo("Asia/Shanghai")


def test_monthly_on_a_day_falls_back_to_the_months_last_day():
    dates = due_dates({"kind": "monthly", "day": 31}, 2026)
    assert len(dates) == 12
    assert dates[:4] == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30)]
    assert due_dates({"kind": "monthly", "day": 29}, 2028)[1] == D(2028, 2, 29)  # leap year
    assert due_dates({"kind": "monthly", "day": 10}, 2026)[4] == D(2026, 5, 10)


def test_a_monthly_occurrence_is_expected_from_the_day_after_its_due_day():
    dates = due_dates({"kind": "monthly", "day": 10}, 2026)
    assert expected(dates, D(2026, 3, 10)) == 2  # the 10th is still the day it is due
    assert expected(dates, D(2026, 3, 11)) == 3


def test_quarterly_is_due_at_each_quarters_end():
    assert due_dates({"kind": "quarterly"}, 2026) == [D(2026, 3, 31), D(2026, 6, 30), D(2026, 9, 30), D(2026, 12, 31)]
    dates = due_dates({"kind": "quarterly"}, 2026)
    assert expected(dates, D(2026, 3, 31)) == 0
    assert expected(dates, D(2026, 4, 1)) == 1


def test_at_least_n_times_is_spread_over_the_year_ending_on_new_years_eve():
    dates = due_dates({"kind": "at_least", "times": 5}, 2026)
    assert dates == [D(2026, 3, 14), D(2026, 5, 26), D(2026, 8, 7), D(2026, 10, 19), D(2026, 12, 31)]
    assert due_dates({"kind": "at_least", "times": 1}, 2026) == [D(2026, 12, 31)]
    assert due_dates({"kind": "at_least", "times": 2}, 2028)[-1] == D(2028, 12, 31)  # 366 days


def test_a_season_window_expects_nothing_before_it_and_everything_after_it():
    summer = {"kind": "season", "times": 2, "start": "07-01", "end": "08-31"}
    dates = due_dates(summer, 2026)
    assert dates == [D(2026, 7, 31), D(2026, 8, 31)]
    assert expected(dates, D(2026, 6, 30)) == 0
    assert expected(dates, D(2026, 8, 1)) == 1
    assert expected(dates, D(2026, 9, 1)) == 2
    assert not counts(summer, 2026, D(2026, 6, 30))
    assert counts(summer, 2026, D(2026, 7, 1)) and counts(summer, 2026, D(2026, 8, 31))
    assert not counts(summer, 2026, D(2026, 9, 1))


def test_a_range_is_due_like_its_minimum():
    assert due_dates({"kind": "range", "min": 1, "max": 2}, 2026) == [D(2026, 12, 31)]
    assert len(due_dates({"kind": "range", "min": 3, "max": 5}, 2026)) == 3


def test_only_activities_of_the_items_year_count():
    monthly = {"kind": "monthly", "day": 10}
    assert counts(monthly, 2026, D(2026, 12, 31))
    assert not counts(monthly, 2026, D(2027, 1, 1))
    assert not counts(None, 2026, D(2025, 12, 31))


def test_local_midnight_decides_the_day_and_the_year():
    # 2026-12-31 16:30 UTC is already 1 January 2027 in Shanghai.
    assert local_day(dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC), SH) == D(2027, 1, 1)
    assert local_day(dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC), SH) == D(2026, 12, 31)


@pytest.mark.parametrize(
    ("today", "done", "status", "expected_n"),
    [
        (D(2025, 12, 31), 0, "on_track", 0),  # before the year
        (D(2026, 3, 10), 2, "on_track", 2),
        (D(2026, 3, 11), 2, "behind", 3),
        (D(2026, 3, 11), 3, "on_track", 3),
        (D(2027, 1, 1), 11, "behind", 12),  # after the year: everything is expected
        (D(2027, 1, 1), 12, "done", 12),
        (D(2026, 6, 1), 14, "done", 5),  # more than planned: done, capped at the plan
    ],
)
def test_progress_of_a_monthly_item(today, done, status, expected_n):
    p = progress({"kind": "monthly", "day": 10}, [], done, 2026, today)
    assert (p.status, p.expected, p.total) == (status, expected_n, 12)
    assert p.done == min(done, 12)
    assert p.percent == 100 * min(done, 12) // 12


def test_milestones_and_a_schedule_together():
    milestones = [
        {"title": "选址", "due": "2026-03-31", "done_on": "2026-03-20"},
        {"title": "建成", "due": "2026-09-30", "done_on": None},
    ]
    p = progress({"kind": "quarterly"}, milestones, 1, 2026, D(2026, 5, 1))
    assert (p.total, p.expected, p.done, p.status) == (6, 2, 2, "on_track")
    assert p.next_due == D(2026, 6, 30)
    late = progress({"kind": "quarterly"}, milestones, 3, 2026, D(2026, 10, 1))
    assert (late.expected, late.done, late.status) == (5, 4, "behind")  # 建成 is overdue


def test_an_item_without_a_target_is_done_once_within_its_year():
    assert progress(None, [], 0, 2026, D(2026, 12, 31)).status == "on_track"
    assert progress(None, [], 0, 2026, D(2027, 1, 1)).status == "behind"
    p = progress(None, [], 1, 2026, D(2026, 2, 1))
    assert (p.status, p.percent) == ("done", 100)
