"""Property-based fuzzing of every operation in the OpenAPI schema, as each role (schemathesis).

For every operation the schema publishes (new routes join automatically) and each role:
schema examples, the coverage phase (boundary values and invalid inputs derived from the schema)
and random positive and negative data. Every response must be non-5xx, documented (status code,
content type, headers, body schema), and invalid input must be rejected with a 4xx.

The app runs in-process; schemathesis drives it from its own event-loop thread, so the app is
created here (not by the ``app`` fixture, whose engine belongs to the test loop). Each role gets
a fresh copy of the test world. ``MINQING_SLOW=1`` raises the random examples per operation.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    unsupported_method,
)

from app.main import create_app
from tests.conftest import auth, make_settings

EXAMPLES = 100 if os.environ.get("MINQING_SLOW") else 5
ROLES = ["admin", "community_admin", "grid_worker", "viewer", "department", "integration"]


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


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_survives_fuzzing(db_url: str, role: str) -> None:
    application = create_app(make_settings(db_url, login_max_failures=1000))
    schema = schemathesis.openapi.from_asgi("/openapi.json", application)
    headers = auth(role)
    statuses: Counter[int] = Counter()

    paths = list(schema.raw_schema["paths"])

    def check(case) -> None:  # type: ignore[no-untyped-def]
        excluded = [positive_data_acceptance]
        if _shadowed(case.operation.path, paths):
            excluded += [unsupported_method, allow_header_conformance]
        response = case.call_and_validate(
            headers=headers,
            excluded_checks=excluded,
            additional_checks=[schema_valid_input_passes_validation],
        )
        statuses[response.status_code] += 1

    hypothesis_settings = settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    failures: list[str] = []
    operations = 0
    start = time.monotonic()
    try:
        for result in get_all_tests(schema=schema, test_func=check, settings=hypothesis_settings, given_kwargs=None):
            operation, test = result.ok()
            operations += 1
            try:
                test()
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label}: {_failure_text(exc)}")
    finally:
        asgi.shutdown_lifespans()
    print(
        f"\nfuzz as {role}: {operations} operations, {sum(statuses.values())} requests in "
        f"{time.monotonic() - start:.1f} s; statuses {dict(sorted(statuses.items()))}"
    )
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
