"""The one place the service reads the time, so tests can move it (``monkeypatch`` :func:`now`).

Everything that needs the current instant — a row's timestamps, a token's expiry, a webhook's
signature time, a resident's age — asks here; nothing else calls ``datetime.now`` or ``time.time``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo


def now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def timestamp() -> float:
    """The current instant as seconds since the epoch (signatures, heartbeats)."""
    return now().timestamp()


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def today(zone: str) -> dt.date:
    """Today's date where the service runs (``settings.timezone``), not in UTC."""
    return now().astimezone(_zone(zone)).date()
