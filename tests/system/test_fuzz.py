"""Property-based fuzzing of every operation in the OpenAPI schema, as each role (schemathesis).

Every response must be non-5xx, documented (status code, content type, headers, body schema), and
invalid input must be rejected with a 4xx. New routes join automatically.

What runs (``MINQING_SLOW=1`` runs everything):

- ``admin`` — every operation, every phase: schema examples, the coverage phase (boundary values
  and invalid inputs derived from the schema, other methods on each path) and random positive
  and negative data (``EXAMPLES`` per operation). Admin passes nearly every role check, so this
  is where each operation's input handling is exercised: validation does not depend on the role.
  The coverage phase derives most of the requests (about 56 per operation); by default each
  operation sends a random sample of them, ``COVERAGE_VALID`` valid and ``COVERAGE_INVALID``
  invalid ones, a different sample each run (the seed is printed; ``MINQING_FUZZ_SEED`` repeats
  it). Random examples cost the most per request, hence few of them by default.
- every other role — the operations ``tests/system/authz_table.py`` admits it to (where scoping by
  area, department or API key changes what the code does) with the schema examples and a few
  random positive and negative requests each (``ROLE_EXAMPLES``), but no coverage phase, whose
  invalid inputs are the same for every role; and the operations it is refused with one request
  each, whose 403 must be documented. Public operations do not depend on the role: admin's run.
- ``MINQING_SLOW=1`` — every role gets what admin gets, with 100 random examples per operation.

Nothing is excluded from the checks. The event stream never ends: its calls get a short read
deadline, after which schemathesis validates what was sent (status, headers, content type).
File downloads (attachments, CSV/XLSX exports) are checked like any response.

The app runs in-process; schemathesis drives it from its own event-loop thread, so the app is
created here (not by the ``app`` fixture, whose engine belongs to the test loop). Each role gets
a fresh copy of the test world.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import TestPhase
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    unsupported_method,
)

from app.auth.roles import Role
from app.main import create_app
from tests import world
from tests.conftest import auth, make_settings
from tests.system.authz_table import PUBLIC, ROUTES

SLOW = bool(os.environ.get("MINQING_SLOW"))
EXAMPLES = 100 if SLOW else 2
ROLE_EXAMPLES = 100 if SLOW else 2
# The coverage phase derives about 56 cases per operation (11,000 for admin's 200 operations: ~300 s
# on two busy cores). By default each operation sends a random sample of them: up to this many valid
# (boundary values) and this many invalid ones (a wrong type, a value out of range, a missing field,
# another method). Every operation is exercised every run, a different sample each run, and
# ``MINQING_FUZZ_SEED`` repeats a run's sample (its seed is printed); ``MINQING_SLOW=1`` sends all.
COVERAGE_VALID = None if SLOW else 8
COVERAGE_INVALID = None if SLOW else 8
SEED = int(os.environ.get("MINQING_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
ROLES = ["admin", "community_admin", "grid_worker", "viewer", "department", "integration"]
# The event stream never ends (heartbeats every 15 s): schemathesis keeps what was sent before the
# read deadline and validates that (status, headers, content type); without it each call took seconds.
STREAM = "GET /api/v1/events/stream"
STREAM_TIMEOUT = 0.3


def schema_valid_input_passes_validation(ctx, response, case) -> None:  # type: ignore[no-untyped-def]
    """Data the schema allows may break a business rule (422 with its own code, e.g. ``unknown_area``
    or ``invalid_cursor``) but must never fail request validation: that would mean the schema lies.

    Stands in for schemathesis' ``positive_data_acceptance``, which refuses every 422 to valid data.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return
    code = response.json().get("code")
    assert code != "validation_failed", f"schema-valid request failed validation: {response.text[:500]}"


# Operations that answer each item of an array body on its own (200 with a verdict per item):
# schema-violating items are rejected in the verdicts, not by the status of the whole request.
PER_ITEM = {"POST /api/v1/diary-entries/batch", "POST /api/v1/commitment-activities/batch"}


def invalid_items_are_rejected_per_item(ctx, response, case) -> None:  # type: ignore[no-untyped-def]
    """Stands in for ``negative_data_rejection`` on :data:`PER_ITEM` operations: schema-violating
    data is refused as a whole (4xx) or, when accepted, at least one item is answered ``invalid``."""
    meta = case.meta
    if meta is None or meta.generation.mode.is_positive or response.status_code != 200:
        return
    counts = response.json()["counts"]
    assert counts["invalid"] >= 1, f"schema-violating batch accepted without an invalid item: {response.text[:500]}"


def _shadowed(path: str, all_paths: list[str]) -> bool:
    """``/areas/locate`` is also ``/areas/{area_id}`` with a bad id: its other methods answer 422, not 405."""
    parts = path.strip("/").split("/")
    for other in all_paths:
        others = other.strip("/").split("/")
        if other != path and len(others) == len(parts):
            if all(a == b or (b.startswith("{") and not a.startswith("{")) for a, b in zip(parts, others, strict=True)):
                return True
    return False


def _failure_text(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 3000 else text[:3000] + " …"


def _admits(role: Role, label: str) -> bool:
    allowed = ROUTES.get(label)
    return allowed != PUBLIC and allowed is not None and role in allowed


def _passes(role_key: str) -> list[tuple[str, Callable[[str], bool], tuple[str, ...], int]]:
    """(name, which operations by label, phases, random examples) for one role."""
    everything = ("examples", "coverage", "fuzzing")
    if role_key == "admin" or SLOW:
        return [("all", lambda label: True, everything, EXAMPLES)]
    role = world.USER[role_key].role
    return [
        ("admitted", lambda label: _admits(role, label), ("examples", "fuzzing"), ROLE_EXAMPLES),
        (
            "refused",
            lambda label: ROUTES.get(label) not in (PUBLIC, None) and not _admits(role, label),
            ("examples", "fuzzing"),
            1,
        ),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_survives_fuzzing(db_url: str, role: str) -> None:
    application = create_app(make_settings(db_url, login_max_failures=1000))
    headers = auth(role)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    timings: list[str] = []
    spent: Counter[str] = Counter()  # seconds per operation

    paths = list(schemathesis.openapi.from_asgi("/openapi.json", application).raw_schema["paths"])

    # Coverage cases of the operation under test, sent after schemathesis has derived them all.
    derived: list = []  # type: ignore[type-arg]
    sample = random.Random(f"{SEED}:{role}")

    def check(case) -> None:  # type: ignore[no-untyped-def]
        if case.meta is not None and case.meta.phase.name == TestPhase.COVERAGE and not SLOW:
            derived.append(case)
            return
        send(case)

    def send(case) -> None:  # type: ignore[no-untyped-def]
        excluded = [positive_data_acceptance]
        additional = [schema_valid_input_passes_validation]
        if _shadowed(case.operation.path, paths):
            excluded += [unsupported_method, allow_header_conformance]
        if case.operation.label in PER_ITEM:
            excluded.append(negative_data_rejection)
            additional.append(invalid_items_are_rejected_per_item)
        extra = {"timeout": STREAM_TIMEOUT} if case.operation.label == STREAM else {}
        response = case.call_and_validate(
            headers=headers,
            excluded_checks=excluded,
            additional_checks=additional,
            **extra,
        )
        statuses[response.status_code] += 1

    try:
        for name, wanted, phases, examples in _passes(role):
            schema = schemathesis.openapi.from_asgi("/openapi.json", application)
            schema = schema.include(lambda ctx, wanted=wanted: wanted(ctx.operation.label))
            for phase in ("examples", "coverage", "fuzzing", "stateful"):
                schema.config.phases.get_by_name(name=phase).enabled = phase in phases

            hypothesis_settings = settings(
                max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
            )
            operations, before, start = 0, sum(statuses.values()), time.monotonic()
            for result in get_all_tests(
                schema=schema, test_func=check, settings=hypothesis_settings, given_kwargs=None
            ):
                operation, test = result.ok()
                operations += 1
                began = time.monotonic()
                derived.clear()
                try:
                    test()
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{operation.label}: {_failure_text(exc)}")
                valid = [c for c in derived if c.meta.generation.mode.is_positive]
                invalid = [c for c in derived if not c.meta.generation.mode.is_positive]
                for cases, limit in ((valid, COVERAGE_VALID), (invalid, COVERAGE_INVALID)):
                    for case in sample.sample(cases, min(len(cases), limit or len(cases))):
                        try:
                            send(case)
                        except (Exception, BaseExceptionGroup) as exc:
                            failures.append(f"{operation.label} (coverage, seed {SEED}): {_failure_text(exc)}")
                spent[operation.label] += time.monotonic() - began
            timings.append(
                f"{name} ({'+'.join(phases)}): {operations} operations, "
                f"{sum(statuses.values()) - before} requests in {time.monotonic() - start:.1f} s"
            )
    finally:
        asgi.shutdown_lifespans()
    slowest = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in spent.most_common(5))
    print(
        f"\nfuzz as {role} (MINQING_FUZZ_SEED={SEED}): {'; '.join(timings)}; "
        f"statuses {dict(sorted(statuses.items()))}; slowest: {slowest}"
    )
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
