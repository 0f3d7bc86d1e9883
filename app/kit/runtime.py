"""Process-level tuning of the Python runtime for a long-running server worker."""

from __future__ import annotations

import gc

# Allocations (minus deallocations) between young-generation collections; CPython's default is 700.
YOUNG_THRESHOLD = 7000

_tuned = False


def tune_gc() -> bool:
    """Keep the cyclic garbage collector out of request latency, once per process.

    A worker holds ≈ 200,000 long-lived objects after start-up (modules, routes, compiled SQL); a
    full collection walks all of them and stalls every request in flight for ≈ 100 ms. Freezing
    them (``gc.freeze``) leaves the collector only what requests create; the higher young
    threshold makes collections rarer without making any of them long (≈ 2 ms). Returns whether
    this call did the tuning."""
    global _tuned
    if _tuned:
        return False
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    _tuned = True
    return True
