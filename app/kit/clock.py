"""The one place the service reads the time, so tests can move it (``monkeypatch`` :func:`now`)."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(dt.UTC)
