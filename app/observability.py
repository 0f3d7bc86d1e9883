"""Structured JSON logs with request ids, and Prometheus metrics (multi-worker aware)."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any ``extra`` fields."""

    # ``color_message``: uvicorn's copy of its message with terminal colour codes.
    _skip = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    """One handler on the root logger, for the service's own logs and uvicorn's: called in every
    worker (by the app factory) and in ``minqing serve``'s own process, where uvicorn's supervisor
    reports workers that died and the ones started in their place (``uvicorn.error``)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.disabled = False


# --- metrics -----------------------------------------------------------------------------------

UNMATCHED_ROUTE = "<unmatched>"
"""The ``route`` label of every request no route took (unknown paths, and requests refused before
routing: too large, NUL bytes): a fixed value, so no client can add time series at will."""

REQUESTS = Counter("minqing_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "minqing_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Summed over the live workers (one figure for the whole service, no ``pid`` label); each worker
# keeps its own part current (see :func:`watch_pool`), whichever worker answers /metrics.
POOL_CHECKED_OUT = Gauge("minqing_db_pool_checked_out", "connections in use, all workers", multiprocess_mode="livesum")
POOL_SIZE = Gauge("minqing_db_pool_size", "configured pool size, all workers", multiprocess_mode="livesum")

# Read replicas (app.replicas): where the replica-tolerant reads went, and each replica's state as the
# last probe found it (label values: "primary" and "replica-1" … from the configuration, a fixed set).
REPLICA_READS = Counter(
    "minqing_db_replica_reads_total", "Requests with replica-tolerant reads, by the server that served them", ["server"]
)
REPLICA_UP = Gauge(
    "minqing_db_replica_up", "1 when a read replica is read from", ["replica"], multiprocess_mode="livemin"
)
REPLICA_LAG = Gauge(
    "minqing_db_replica_lag_seconds",
    "seconds a read replica is behind the primary",
    ["replica"],
    multiprocess_mode="livemax",
)

WEBHOOK_DELIVERIES = Counter(
    "minqing_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, retry, dead, gone, lease_lost)",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "minqing_webhook_attempt_duration_seconds",
    "Time to send one webhook and read the start of the answer",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def update_pool_gauges(engine: Any, *, returning: int = 0) -> None:
    """This worker's part of the pool gauges; ``returning``: connections being checked in right now
    (the pool still counts them when its ``checkin`` event fires)."""
    pool = engine.pool
    try:
        POOL_CHECKED_OUT.set(pool.checkedout() - returning)
        POOL_SIZE.set(pool.size())
    except AttributeError:  # NullPool in some tests
        pass


def watch_pool(engine: Any) -> None:
    """Keep this worker's pool gauges current from now on: set at once and on every checkout and
    checkin, so the sum over workers is right whichever worker answers /metrics."""
    from sqlalchemy import event

    target = getattr(engine, "sync_engine", engine)
    event.listen(target, "checkout", lambda *_: update_pool_gauges(target))
    event.listen(target, "checkin", lambda *_: update_pool_gauges(target, returning=1))
    update_pool_gauges(target)


def _forget_dead_workers(directory: str) -> None:
    """Drop the live-gauge files of workers that are gone (killed, crashed, replaced): uvicorn's
    supervisor starts a new worker but tells nobody, and a dead worker's pool would count on."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid_text = path.stem.rsplit("_", 1)[-1]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(int(pid_text), directory)
        except PermissionError:  # alive, someone else's
            pass


def render_metrics() -> tuple[bytes, str]:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        _forget_dead_workers(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
