import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise

import pytest

from app.integrations.webhooks.backoff import (
    MAX_ATTEMPTS,
    MAX_DELAY,
    RETRY_SCHEDULE,
    next_attempt_delay,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


class Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_schedule_covers_about_three_days_in_15_to_20_attempts() -> None:
    assert 15 <= MAX_ATTEMPTS <= 20
    total = timedelta(seconds=sum(RETRY_SCHEDULE))
    assert timedelta(days=2, hours=20) <= total <= timedelta(days=3, hours=4)


def test_schedule_grows_exponentially_up_to_the_cap() -> None:
    assert all(a <= b for a, b in pairwise(RETRY_SCHEDULE))
    assert RETRY_SCHEDULE[1] == 2 * RETRY_SCHEDULE[0]
    assert max(RETRY_SCHEDULE) == MAX_DELAY == RETRY_SCHEDULE[-1]
    assert RETRY_SCHEDULE[0] <= 60


@pytest.mark.parametrize("attempt", range(1, len(RETRY_SCHEDULE) + 1))
def test_equal_jitter_stays_between_half_and_full_delay(attempt: int) -> None:
    nominal = RETRY_SCHEDULE[attempt - 1]
    assert next_attempt_delay(attempt, Fixed(0.0)) == nominal / 2
    assert next_attempt_delay(attempt, Fixed(0.999999)) == pytest.approx(nominal, rel=1e-5)
    rng = random.Random(attempt)
    for _ in range(200):
        delay = next_attempt_delay(attempt, rng)
        assert delay is not None and nominal / 2 <= delay <= nominal


def test_jitter_spreads_deliveries_out() -> None:
    rng = random.Random(7)
    delays = {next_attempt_delay(5, rng) for _ in range(50)}
    assert len(delays) > 40


def test_exhausted_schedule_means_dead() -> None:
    assert next_attempt_delay(len(RETRY_SCHEDULE)) is not None
    assert next_attempt_delay(len(RETRY_SCHEDULE) + 1) is None
    assert retry_delay(len(RETRY_SCHEDULE) + 1, retry_after=10) is None


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        next_attempt_delay(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (format_datetime(NOW + timedelta(minutes=5), usegmt=True), 300.0),
        ("Mon, 23 Nov 2026 01:31:00 GMT", 60.0),
        (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_stretches_the_backoff_but_is_capped() -> None:
    low = Fixed(0.0)
    assert retry_delay(1, None, low) == RETRY_SCHEDULE[0] / 2
    assert retry_delay(1, 5.0, low) == RETRY_SCHEDULE[0] / 2
    assert retry_delay(1, 600.0, low) == 600.0
    assert retry_delay(1, 30 * 86_400.0, low) == MAX_DELAY
