"""The volunteers' workflows as data, and the calendar arithmetic of visit duties.

微心愿: ``open`` → ``claimed`` (one volunteer, Party member or unit) → ``fulfilled`` (with photo
proof) → ``confirmed`` (by the grid worker or the beneficiary; points posted). An unfulfilled claim
expires after the community's ``wish_claim_days`` and the wish reopens. ``cancelled`` from open or
claimed.

Time bank: ``open`` (the requester's hours held) → ``claimed`` → ``done`` (hours paid to the
claimer on confirmation); ``cancelled`` from open or claimed (hours released to the requester).

Service records: ``submitted`` → ``verified`` (核实; points and hours posted) or ``rejected``.

Visit duties (帮扶对子) are counted in Asia/Shanghai days: a visit at 23:30 Beijing time belongs to
that day, whatever the UTC date.
"""

from __future__ import annotations

import calendar
import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.errors import Conflict
from app.system.enums import register as register_enum
from app.volunteers.models import Frequency, RecordStatus, TimebankStatus, WishStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
W, T, R = WishStatus, TimebankStatus, RecordStatus


class WishAction(StrEnum):
    CLAIM = "claim"
    FULFIL = "fulfil"
    CONFIRM = "confirm"
    CANCEL = "cancel"


class TimebankAction(StrEnum):
    CLAIM = "claim"
    CONFIRM = "confirm"
    CANCEL = "cancel"


class RecordAction(StrEnum):
    VERIFY = "verify"
    REJECT = "reject"


WISH: dict[WishAction, tuple[frozenset[WishStatus], WishStatus]] = {
    WishAction.CLAIM: (frozenset({W.OPEN}), W.CLAIMED),
    WishAction.FULFIL: (frozenset({W.CLAIMED}), W.FULFILLED),
    WishAction.CONFIRM: (frozenset({W.FULFILLED}), W.CONFIRMED),
    WishAction.CANCEL: (frozenset({W.OPEN, W.CLAIMED}), W.CANCELLED),
}
TIMEBANK: dict[TimebankAction, tuple[frozenset[TimebankStatus], TimebankStatus]] = {
    TimebankAction.CLAIM: (frozenset({T.OPEN}), T.CLAIMED),
    TimebankAction.CONFIRM: (frozenset({T.CLAIMED}), T.DONE),
    TimebankAction.CANCEL: (frozenset({T.OPEN, T.CLAIMED}), T.CANCELLED),
}
RECORD: dict[RecordAction, tuple[frozenset[RecordStatus], RecordStatus]] = {
    RecordAction.VERIFY: (frozenset({R.SUBMITTED}), R.VERIFIED),
    RecordAction.REJECT: (frozenset({R.SUBMITTED}), R.REJECTED),
}


def allowed(table: dict, status: StrEnum) -> list[str]:  # type: ignore[type-arg]
    return [a.value for a, (sources, _) in table.items() if status in sources]


def advance(table: dict, status: StrEnum, action: StrEnum, thing: str) -> StrEnum:  # type: ignore[type-arg]
    """The status after ``action``; 409 ``invalid_transition`` (with ``allowed_actions``) when not allowed."""
    sources, target = table[action]
    if status not in sources:
        raise Conflict(
            f"A {thing} that is {status} does not take {action}.",
            code="invalid_transition",
            allowed_actions=allowed(table, status),
        )
    return target


# --- visit duties ---------------------------------------------------------------------------------

# Traditional festivals the 帮扶 visits are due by (春节, 端午, 中秋, 重阳), Gregorian dates.
FESTIVALS: tuple[dt.date, ...] = tuple(
    sorted(
        dt.date.fromisoformat(d)
        for d in (
            "2025-01-29",
            "2025-05-31",
            "2025-10-06",
            "2025-10-29",
            "2026-02-17",
            "2026-06-19",
            "2026-09-25",
            "2026-10-18",
            "2027-02-06",
            "2027-06-09",
            "2027-09-15",
            "2027-10-08",
            "2028-01-26",
            "2028-05-28",
            "2028-10-03",
            "2028-10-26",
        )
    )
)
# How many days before its due date a duty is listed as due.
LEAD_DAYS = {Frequency.WEEKLY: 2, Frequency.MONTHLY: 5, Frequency.FESTIVAL: 7}


class Duty(StrEnum):
    OK = "ok"
    DUE = "due"
    OVERDUE = "overdue"


DUTY_LABELS = {Duty.OK: "按期", Duty.DUE: "待走访", Duty.OVERDUE: "已逾期"}
register_enum("pairing_duty", Duty, DUTY_LABELS)


def local_day(at: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar day of an instant."""
    return at.astimezone(SHANGHAI).date()


def add_month(day: dt.date) -> dt.date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_on(frequency: Frequency, started_on: dt.date, last_visit_at: dt.datetime | None) -> dt.date | None:
    """The day the next visit is due by: a week or a calendar month after the last visit (the pairing's
    start when none yet), or the first festival after it. None when no festival date is known."""
    base = local_day(last_visit_at) if last_visit_at is not None else None
    if frequency is Frequency.WEEKLY:
        return base + dt.timedelta(days=7) if base else started_on + dt.timedelta(days=7)
    if frequency is Frequency.MONTHLY:
        return add_month(base or started_on)
    after = base if base is not None else started_on - dt.timedelta(days=1)
    return next((f for f in FESTIVALS if f > after), None)


def duty(frequency: Frequency, due: dt.date | None, today: dt.date) -> Duty:
    """``overdue`` after the due day, ``due`` within the lead days before it (and on it), else ``ok``."""
    if due is None:
        return Duty.OK
    if today > due:
        return Duty.OVERDUE
    if today >= due - dt.timedelta(days=LEAD_DAYS[frequency]):
        return Duty.DUE
    return Duty.OK
