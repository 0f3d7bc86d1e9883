"""When to retry a failed webhook delivery (投递重试).

The schedule doubles from 30 seconds up to a cap of 8 hours. ``RETRY_SCHEDULE[n - 1]`` is the
nominal wait after the n-th failed attempt:

=======  =========  ==========
attempt  wait       cumulative
=======  =========  ==========
1        30 s       30 s
2        1 min      1.5 min
3        2 min      3.5 min
4        4 min      7.5 min
5        8 min      15.5 min
6        16 min     31.5 min
7        32 min     ~1 h 4 min
8        64 min     ~2 h 8 min
9        ~2 h 8 m   ~4 h 16 min
10       ~4 h 16 m  ~8 h 32 min
11-18    8 h each   ~72.5 h
=======  =========  ==========

That is 18 retries (19 attempts in all) over about three days; after the 19th failure
:func:`next_attempt_delay` returns ``None`` and the delivery is dead (投递失败).

Jitter is *equal jitter*: each wait is drawn uniformly from ``[d/2, d]`` for the nominal ``d``,
so deliveries that failed together (a receiver's outage) spread out instead of returning in a
burst, while every wait keeps at least half its nominal length. A dead delivery has therefore been
retried for between ~36 h and ~72.5 h (about 54 h on average).

A receiver may ask for more time with ``Retry-After`` (on 429 or 503); the wait used is
``max(backoff, retry_after)`` where ``retry_after`` is capped at :data:`MAX_DELAY` (8 h), so a
receiver can slow its own deliveries down but cannot park them for longer than the schedule does.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from app.kit import clock

BASE_DELAY = 30.0
MAX_DELAY = 8 * 3600.0
MAX_RETRIES = 18

RETRY_SCHEDULE: tuple[float, ...] = tuple(min(BASE_DELAY * 2**n, MAX_DELAY) for n in range(MAX_RETRIES))
"""Nominal wait in seconds after each failed attempt (index 0: after the first attempt)."""

MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1


class RandomSource(Protocol):
    def random(self) -> float: ...


def next_attempt_delay(attempt: int, rng: RandomSource = random) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), with equal jitter.

    ``None`` once the schedule is exhausted: the delivery is dead.
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    if attempt > len(RETRY_SCHEDULE):
        return None
    half = RETRY_SCHEDULE[attempt - 1] / 2
    return half + half * rng.random()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from ``now`` asked for by a ``Retry-After`` header (RFC 9110 §10.2.3).

    Accepts delta-seconds (``120``) and an HTTP-date (``Wed, 21 Oct 2026 07:28:00 GMT``). A date in
    the past gives ``0``; a missing or malformed value gives ``None``.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    current = now or clock.now()
    return max(0.0, (when - current).total_seconds())


def retry_delay(
    attempt: int,
    retry_after: float | None = None,
    rng: RandomSource = random,
) -> float | None:
    """The wait before the next attempt: jittered backoff, stretched to honour ``Retry-After``.

    ``None`` when the delivery is dead, whatever the receiver asked for.
    """
    backoff = next_attempt_delay(attempt, rng)
    if backoff is None or retry_after is None:
        return backoff
    return max(backoff, min(retry_after, MAX_DELAY))
