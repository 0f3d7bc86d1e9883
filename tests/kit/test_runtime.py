"""A started worker keeps the garbage collector out of request latency."""

from __future__ import annotations

import gc

from app.kit import runtime


async def test_a_started_app_has_frozen_its_long_lived_objects(app):
    # The app fixture has run the lifespan: start-up's objects are out of the collector's reach.
    assert gc.get_freeze_count() > 50_000
    assert gc.get_threshold()[0] == runtime.YOUNG_THRESHOLD
    # Once per process: starting another app (tests, reloads) does not freeze again.
    assert runtime.tune_gc() is False
