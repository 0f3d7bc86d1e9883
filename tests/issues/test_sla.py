import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.issues.sla import (
    DEFAULT_CALENDAR_FILE,
    DEFAULT_POLICIES,
    ORDINARY_POLICY,
    URGENT_POLICY,
    UTILITIES,
    BusinessClock,
    PolicyKey,
    SlaPolicy,
    Unit,
    WorkCalendar,
    deadline,
    hours,
    pick_policy,
    working_days,
)
from app.issues.workflow import Kind, Priority

SH = ZoneInfo("Asia/Shanghai")
CN = WorkCalendar.from_json(DEFAULT_CALENDAR_FILE)
WD, H = Unit.WORKING_DAYS, Unit.HOURS
DAY = 86400


def at(y, m, d, hh=0, mm=0, ss=0, us=0, tz=SH):
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=tz)


# --- the calendar ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 3, 6), True),  # Friday
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 3, 8), False),  # Sunday
        (date(2026, 9, 20), True),  # Sunday, make-up working day for National Day
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # Wednesday, last day of the holiday
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, make-up working day
        (date(2026, 10, 11), False),
        (date(2026, 1, 4), True),  # Sunday after New Year
        (date(2026, 2, 16), False),  # 除夕
        (date(2026, 2, 23), False),  # Monday, last day of Spring Festival
        (date(2026, 2, 28), True),  # Saturday
        (date(2025, 1, 26), True),  # Sunday before Spring Festival 2025
        (date(2025, 10, 8), False),
        (date(2027, 1, 1), False),
        (date(2027, 2, 8), False),  # 初三, Monday
    ],
)
def test_official_calendar(day, working):
    assert CN.is_working_day(day) is working


def test_shipped_calendar_is_consistent():
    raw = json.loads(DEFAULT_CALENDAR_FILE.read_text(encoding="utf-8"))
    assert raw["note"]
    assert [y["year"] for y in raw["years"]] == [2025, 2026, 2027]
    assert all(d.weekday() >= 5 for d in CN.workdays)  # make-up days are weekend days
    assert {d.year for d in CN.holidays} == {2025, 2026, 2027}
    assert CN.tz == SH


def test_working_days_between_matches_counting_day_by_day():
    rng = random.Random(7)
    for _ in range(300):
        a = date(2024, 6, 1) + timedelta(days=rng.randrange(1400))
        b = a + timedelta(days=rng.randrange(-60, 120))
        lo, hi = min(a, b), max(a, b)
        counted = sum(CN.is_working_day(lo + timedelta(days=i)) for i in range((hi - lo).days))
        assert CN.working_days_between(a, b) == (counted if b >= a else -counted)


@pytest.mark.parametrize("year", [2025, 2026])
def test_a_year_has_the_published_number_of_working_days(year):
    assert CN.working_days_between(date(year, 1, 1), date(year + 1, 1, 1)) == 248


def test_from_json_accepts_dates_ranges_and_a_time_zone_override():
    cal = WorkCalendar.from_json(
        {
            "timezone": "Asia/Shanghai",
            "holidays": ["2030-01-01", {"name": "x", "from": "2030-02-04", "to": "2030-02-06"}],
            "workdays": ["2030-02-09"],
        },
        tz="Europe/London",
    )
    assert cal.tz == ZoneInfo("Europe/London")
    assert cal.holidays == {date(2030, 1, 1), date(2030, 2, 4), date(2030, 2, 5), date(2030, 2, 6)}
    assert cal.is_working_day(date(2030, 2, 9))  # a Saturday
    assert WorkCalendar.from_json({}).tz == SH


def test_from_json_reads_a_file(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"years": [{"holidays": ["2031-05-01"], "workdays": ["2031-05-03"]}]}))
    cal = WorkCalendar.from_json(path)
    assert not cal.is_working_day(date(2031, 5, 1))
    assert cal.is_working_day(date(2031, 5, 3))
    assert WorkCalendar.from_json(str(path)) == cal


@pytest.mark.parametrize(
    "data",
    [
        {"holidays": ["2030-01-05"], "workdays": ["2030-01-05"]},
        {"holidays": [{"from": "2030-01-05", "to": "2030-01-01"}]},
        {"holidays": ["2030-13-01"]},
    ],
)
def test_from_json_rejects_inconsistent_files(data):
    with pytest.raises(ValueError):
        WorkCalendar.from_json(data)


# --- deadlines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        (at(2026, 3, 6, 15), 1, at(2026, 3, 9, 15)),  # Friday 15:00 + 1 = Monday 15:00
        (at(2026, 3, 6, 15), 3, at(2026, 3, 11, 15)),
        (at(2026, 3, 5, 9, 30), 2, at(2026, 3, 9, 9, 30)),
        (at(2026, 3, 2, 0), 5, at(2026, 3, 7, 0)),  # a whole week ends at Friday 24:00
        (at(2026, 3, 7, 10), 3, at(2026, 3, 12, 0)),  # from Saturday: end of Wednesday
        (at(2026, 3, 8, 23, 59), 1, at(2026, 3, 10, 0)),  # from Sunday: end of Monday
        (at(2026, 3, 6, 15), 0.5, at(2026, 3, 9, 3)),
    ],
)
def test_working_day_deadline_across_a_weekend(start, amount, expected):
    assert deadline(start, amount, WD, CN) == expected


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        (at(2026, 9, 30, 15), 1, at(2026, 10, 8, 15)),  # over the whole National Day holiday
        (at(2026, 9, 29, 10), 3, at(2026, 10, 9, 10)),
        (at(2026, 9, 18, 15), 1, at(2026, 9, 20, 15)),  # Friday + 1 = the make-up Sunday
        (at(2026, 9, 19, 10), 1, at(2026, 9, 21, 0)),  # from Saturday: end of the make-up Sunday
        (at(2026, 10, 9, 10), 1, at(2026, 10, 10, 10)),  # Friday + 1 = the make-up Saturday
        (at(2026, 10, 10, 10), 3, at(2026, 10, 14, 10)),
        (at(2026, 10, 3, 10), 3, at(2026, 10, 11, 0)),  # start on a holiday: Oct 8, 9, 10
        (at(2026, 10, 1, 0), 1, at(2026, 10, 9, 0)),
    ],
)
def test_working_day_deadline_across_national_day_2026(start, amount, expected):
    assert deadline(start, amount, WD, CN) == expected


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        (at(2026, 3, 7, 10), 24, at(2026, 3, 8, 10)),
        (at(2026, 9, 30, 20), 48, at(2026, 10, 2, 20)),
        (at(2026, 3, 6, 23), 2, at(2026, 3, 7, 1)),
    ],
)
def test_calendar_hour_deadline_ignores_weekends_and_holidays(start, amount, expected):
    assert deadline(start, amount, H, CN) == expected


def test_deadline_is_in_the_zone_of_the_start():
    start = datetime(2026, 3, 6, 7, tzinfo=UTC)  # Friday 15:00 in Shanghai
    end = deadline(start, 1, WD, CN)
    assert end.tzinfo is UTC
    assert end == at(2026, 3, 9, 15)


def test_extension_moves_the_deadline():
    start = at(2026, 3, 2, 10)
    assert deadline(start, 3, WD, CN) == at(2026, 3, 5, 10)
    assert deadline(start, 3, WD, CN, extension=2) == at(2026, 3, 9, 10)  # over the weekend
    assert deadline(start, 24, H, CN, extension=12) == at(2026, 3, 3, 22)


def test_zero_amount_from_a_weekend_is_due_at_the_start():
    assert deadline(at(2026, 3, 7, 10), 0, WD, CN) == at(2026, 3, 7, 10)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        deadline(datetime(2026, 3, 2, 10), 1, WD, CN)


# --- pauses ----------------------------------------------------------------------------------


def paused(clock, begin, end):
    """Business time suspended from ``begin`` to ``end``, as a resume counts it."""
    return clock.to_business(end) - clock.to_business(begin)


def test_suspension_moves_the_deadline_by_the_paused_business_time():
    start = at(2026, 3, 2, 10)
    for unit, amount, expected in ((WD, 3, at(2026, 3, 6, 10)), (H, 72, at(2026, 3, 6, 10))):
        suspended = paused(BusinessClock(CN, unit), at(2026, 3, 3, 10), at(2026, 3, 4, 10))
        assert suspended == DAY
        assert deadline(start, amount, unit, CN, suspended) == expected


def test_pause_over_a_weekend_does_not_move_a_working_day_deadline():
    start = at(2026, 3, 5, 10)
    suspended = paused(BusinessClock(CN, WD), at(2026, 3, 7, 9), at(2026, 3, 8, 20))
    assert suspended == 0
    assert deadline(start, 3, WD, CN, suspended) == deadline(start, 3, WD, CN) == at(2026, 3, 10, 10)
    # on a calendar-hour policy the same pause counts in full
    assert paused(BusinessClock(CN, H), at(2026, 3, 7, 9), at(2026, 3, 8, 20)) == 35 * 3600


def test_pause_over_national_day_counts_only_working_time():
    # 6 h on Sep 30, 6 h on Oct 8
    assert paused(BusinessClock(CN, WD), at(2026, 9, 30, 18), at(2026, 10, 8, 6)) == 12 * 3600


# --- the business clock ----------------------------------------------------------------------


def test_business_time_does_not_advance_on_days_off():
    clock = BusinessClock(CN, WD)
    friday_end = clock.to_business(at(2026, 3, 7))
    assert clock.to_business(at(2026, 3, 7, 15)) == friday_end
    assert clock.to_business(at(2026, 3, 9)) == friday_end
    assert clock.to_business(at(2026, 3, 9, 1)) == friday_end + 3600
    assert clock.from_business(friday_end) == at(2026, 3, 7)  # the end of Friday, not Monday


RANDOM_ZONES = [SH, UTC, ZoneInfo("America/New_York"), ZoneInfo("Europe/London"), timezone(timedelta(hours=-3))]


def random_instants(rng, n):
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(n):
        dt = base + timedelta(seconds=rng.randrange(5 * 365 * DAY), microseconds=rng.randrange(10**6))
        yield dt.astimezone(rng.choice([SH, UTC, ZoneInfo("America/Los_Angeles")]))


@pytest.mark.parametrize("unit", list(Unit))
@pytest.mark.parametrize("zone", RANDOM_ZONES, ids=str)
def test_round_trip_through_business_time(unit, zone):
    cal = WorkCalendar(tz=zone, holidays=CN.holidays, workdays=CN.workdays)
    clock = BusinessClock(cal, unit)
    rng = random.Random(f"{unit}{zone}")
    instants = list(random_instants(rng, 1500))
    for dt in instants:
        x = clock.to_business(dt)
        back = clock.from_business(x)
        assert back.tzinfo is zone
        assert back <= dt
        assert clock.to_business(back) == pytest.approx(x, abs=1e-6)
        local = dt.astimezone(zone)
        if unit is Unit.HOURS or cal.is_working_day(local.date()):
            # compared in UTC: == between zones is always False for a repeated (fold) hour
            assert back.astimezone(UTC) == dt.astimezone(UTC)
    for earlier, later in zip(sorted(instants), sorted(instants)[1:], strict=False):
        assert clock.to_business(earlier) <= clock.to_business(later)
    if unit is Unit.HOURS:
        a, b = instants[0], instants[1]
        assert clock.to_business(b) - clock.to_business(a) == pytest.approx((b - a).total_seconds(), abs=1e-6)


@pytest.mark.parametrize("unit", list(Unit))
def test_every_business_value_maps_back_to_itself(unit):
    clock = BusinessClock(CN, unit)
    rng = random.Random(str(unit))
    low = clock.to_business(at(2024, 6, 1))
    high = clock.to_business(at(2028, 6, 1))
    for _ in range(1500):
        x = round(rng.uniform(low, high), 6)
        assert clock.to_business(clock.from_business(x)) == pytest.approx(x, abs=1e-6)
    for k in range(int(low // DAY), int(low // DAY) + 400):  # every day boundary
        assert clock.to_business(clock.from_business(k * DAY)) == k * DAY


def test_days_that_are_not_24_hours_long_still_count_as_one_working_day():
    ny = ZoneInfo("America/New_York")
    # a calendar where the DST Sundays are working days: 23 h (Mar 8) and 25 h (Nov 1) in 2026
    cal = WorkCalendar(tz=ny, workdays=frozenset({date(2026, 3, 8), date(2026, 11, 1)}))
    clock = BusinessClock(cal, WD)
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        start = datetime.combine(day, datetime.min.time(), tzinfo=ny)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ny)
        assert clock.to_business(end) - clock.to_business(start) == DAY
        assert deadline(start, 1, WD, cal) == end
    friday = datetime(2026, 3, 6, 15, tzinfo=ny)
    # on the short day the time of day is only approximate; on ordinary days it is kept
    on_short_day = deadline(friday, 1, WD, cal)
    assert on_short_day.date() == date(2026, 3, 8)
    assert abs(on_short_day - datetime(2026, 3, 8, 15, tzinfo=ny)) < timedelta(hours=1)
    assert deadline(friday, 2, WD, cal) == datetime(2026, 3, 9, 15, tzinfo=ny)


# --- policies --------------------------------------------------------------------------------


def test_default_policies_follow_the_12345_rules():
    assert URGENT_POLICY == SlaPolicy(hours(2), hours(24))
    assert ORDINARY_POLICY == SlaPolicy(hours(24), hours(7 * 24))
    assert DEFAULT_POLICIES[PolicyKey(kind=Kind.CONSULTATION)].resolve_within == working_days(3)
    assert DEFAULT_POLICIES[PolicyKey(kind=Kind.HELP)].resolve_within == working_days(3)
    assert DEFAULT_POLICIES[PolicyKey(category=UTILITIES)].resolve_within == hours(24)
    assert working_days(3).business_seconds == 3 * DAY


@pytest.mark.parametrize(
    ("category", "priority", "kind", "resolve_within"),
    [
        (None, Priority.NORMAL, Kind.COMPLAINT, hours(168)),
        ("property", Priority.LOW, Kind.SUGGESTION, hours(168)),
        (None, Priority.URGENT, Kind.COMPLAINT, hours(24)),
        (None, Priority.URGENT, Kind.CONSULTATION, hours(24)),  # urgency beats the kind
        (None, Priority.NORMAL, Kind.CONSULTATION, working_days(3)),
        ("welfare", Priority.HIGH, Kind.HELP, working_days(3)),
        (UTILITIES, Priority.NORMAL, Kind.COMPLAINT, hours(24)),
        (UTILITIES, Priority.NORMAL, Kind.CONSULTATION, hours(24)),  # category beats the kind
        (None, None, None, hours(168)),
    ],
)
def test_pick_default_policy(category, priority, kind, resolve_within):
    assert pick_policy(category, priority, kind).resolve_within == resolve_within


def test_urgent_utilities_keep_the_urgent_response_time():
    assert pick_policy(UTILITIES, Priority.URGENT, Kind.COMPLAINT) == URGENT_POLICY


def test_pick_policy_fallback_order():
    def p(n):
        return SlaPolicy(hours(n), hours(n))

    table = {
        PolicyKey("dispute", Priority.HIGH): p(1),
        PolicyKey("dispute"): p(2),
        PolicyKey(priority=Priority.HIGH): p(3),
        PolicyKey(kind=Kind.REPORT): p(4),
        PolicyKey(): p(5),
    }
    assert pick_policy("dispute", Priority.HIGH, Kind.REPORT, table) == p(1)
    assert pick_policy("dispute", Priority.LOW, Kind.REPORT, table) == p(2)
    assert pick_policy("other", Priority.HIGH, Kind.REPORT, table) == p(3)
    assert pick_policy("other", Priority.LOW, Kind.REPORT, table) == p(4)
    assert pick_policy("other", Priority.LOW, Kind.PRAISE, table) == p(5)
    del table[PolicyKey()]
    with pytest.raises(LookupError):
        pick_policy("other", Priority.LOW, Kind.PRAISE, table)
