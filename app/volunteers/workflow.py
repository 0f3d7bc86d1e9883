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

from app.kit.labels import LabelledEnum, labels
from app.kit.labels import register as register_enum
from app.kit.workflow import A, S, Table, table
from app.kit.workflow import advance as advance  # the services advance the tables below
from app.kit.workflow import allowed as actions_in
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


WISH = table(
    {
        WishAction.CLAIM: ({W.OPEN}, W.CLAIMED),
        WishAction.FULFIL: ({W.CLAIMED}, W.FULFILLED),
        WishAction.CONFIRM: ({W.FULFILLED}, W.CONFIRMED),
        WishAction.CANCEL: ({W.OPEN, W.CLAIMED}, W.CANCELLED),
    }
)
TIMEBANK = table(
    {
        TimebankAction.CLAIM: ({T.OPEN}, T.CLAIMED),
        TimebankAction.CONFIRM: ({T.CLAIMED}, T.DONE),
        TimebankAction.CANCEL: ({T.OPEN, T.CLAIMED}, T.CANCELLED),
    }
)
RECORD = table({RecordAction.VERIFY: ({R.SUBMITTED}, R.VERIFIED), RecordAction.REJECT: ({R.SUBMITTED}, R.REJECTED)})


def allowed(steps: Table[A, S], status: S) -> list[str]:
    """The actions ``status`` takes, as the values the API lists."""
    return [a.value for a in actions_in(steps, status)]


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


class Duty(LabelledEnum):
    OK = "ok", "按期"
    DUE = "due", "待走访"
    OVERDUE = "overdue", "已逾期"


register_enum("pairing_duty", Duty, labels(Duty))


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
