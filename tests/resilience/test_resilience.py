"""The service under load keeps every acknowledged write through repeated database restarts, worker
crashes and conflicting updates (bench/resilience.py: a real `minqing serve --workers 2` on
127.0.0.1 against its own PostgreSQL).

By default each scenario runs a few seconds with one or two faults; ``MINQING_SLOW=1`` runs the
full version. Figures are printed (``pytest -s``) for the record.

The write under test is ``OPERATION``: issue creation with ``Idempotency-Key``, retried by the
clients on any error until acknowledged; afterwards each logical request exists exactly once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from bench import resilience

SLOW = bool(os.environ.get("MINQING_SLOW"))
OPERATION = resilience.CreateIssue

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Iterator[resilience.Stack]:
    with resilience.stack(workers=2) as s:
        yield s


def _report(figures: dict) -> None:
    print("\n" + json.dumps(figures, ensure_ascii=False))


async def test_conflicting_updates_accept_one_writer_per_version(stack):
    figures = await resilience.conflicting_updates(stack, clients=16 if SLOW else 6, seconds=20 if SLOW else 2)
    _report(figures)
    assert figures["problems"] == []
    assert set(figures["statuses"]) <= {200, 412}, figures
    assert figures["accepted"] > 0 and figures["statuses"].get(412, 0) > 0


async def test_killed_workers_lose_no_request_and_duplicate_none(stack):
    figures = await resilience.crash_under_load(
        stack, OPERATION(), clients=8 if SLOW else 4, seconds=30 if SLOW else 4, kills=10 if SLOW else 2
    )
    _report(figures)
    assert figures["workers_killed"] == (10 if SLOW else 2)
    assert figures["not_acknowledged"] == [] and figures["not_exactly_once"] == []
    assert figures["bad_5xx"] == 0, figures["bad_5xx_samples"]
    assert figures["workers_now"] == 2  # the supervisor replaced them
    assert figures["acknowledged"] > 0


async def test_database_restarts_give_503_then_recover_and_keep_acknowledged_writes(stack):
    restarts = 10 if SLOW else 3  # stopped -m fast and -m immediate in turn
    figures = await resilience.restart_under_load(
        stack,
        OPERATION(),
        clients=12 if SLOW else 6,
        seconds=30 if SLOW else 3,
        outage=3 if SLOW else 1,
        restarts=restarts,
    )
    _report(figures)
    assert [r["mode"] for r in figures["restarts"]] == [("fast", "immediate")[i % 2] for i in range(restarts)]
    assert figures["bad_5xx"] == 0, figures["bad_5xx_samples"]  # 503 problem+json, never 500
    assert figures["transport_errors"] == {}  # no hang past the client timeout, no dropped connection
    assert figures["server_errors"] == {}  # nothing escaped to the server or failed unseen
    assert figures["slowest_s"] < resilience.CLIENT_TIMEOUT
    assert figures["statuses"].get(503, 0) > 0  # the outage was seen
    assert figures["recovery_s"] is not None and figures["recovery_s"] < 10  # after every restart
    assert figures["acknowledged_missing"] == []
