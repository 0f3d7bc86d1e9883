"""Liveness, readiness, metrics and enum labels."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from app.config import Settings
from app.errors import PROBLEM_JSON, ServiceUnavailable
from app.issues.deadlines import calendar_for
from app.kit import clock
from app.kit.labels import all_enums
from app.kit.routing import Router
from app.migrations_state import current_revision, head_revision
from app.observability import render_metrics, update_pool_gauges

router = Router(tags=["system"])
log = logging.getLogger("minqing.calendar")


@router.get("/health", operation_id="system_health", summary="Process is up (存活检查)")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def calendar_warnings(settings: Settings) -> list[str]:
    """What is wrong with the holiday calendar today (empty: nothing).

    Deadlines in working days need the year's public holidays and make-up working days; for a
    year the calendar does not list, only weekends would count as days off and deadlines would be
    silently wrong. Checked by ``/ready`` and logged at start-up."""
    cal = calendar_for(settings)
    today = clock.now().astimezone(cal.tz).date()
    if cal.covers(today):
        return []
    listed = ", ".join(str(y) for y in sorted(cal.years)) or "none"
    return [
        f"The holiday calendar does not cover {today.year} (it lists {listed}): deadlines in working days "
        "ignore this year's public holidays and make-up working days. Set MINQING_HOLIDAY_CALENDAR_FILE to "
        "a calendar for this year, or upgrade Minqing."
    ]


@router.get(
    "/ready",
    operation_id="system_ready",
    summary="Database reachable and migrated (就绪检查)",
    description=(
        "200 when PostgreSQL answers and its schema is at the latest migration; 503 otherwise. "
        "`warnings` lists what needs an operator without stopping the service (a holiday calendar "
        "that does not cover the current year, a read replica down or too far behind). `replicas` "
        "gives each read replica's state as this process last measured it."
    ),
)
async def ready(request: Request) -> Any:
    try:
        current = await current_revision(request.app.state.engine)
    except Exception as exc:  # any failure here means "not ready"
        err = ServiceUnavailable(f"Database not reachable: {type(exc).__name__}", code="database_unavailable")
        return JSONResponse(err.to_problem("/ready"), status_code=503, media_type=PROBLEM_JSON, headers=err.headers)
    head = head_revision()
    if current != head:
        err = ServiceUnavailable(
            f"Database schema is at {current}, expected {head}: run `minqing migrate`.", code="migrations_pending"
        )
        return JSONResponse(err.to_problem("/ready"), status_code=503, media_type=PROBLEM_JSON, headers=err.headers)
    warnings = calendar_warnings(request.app.state.settings)
    for warning in warnings:
        log.error(warning)
    replicas = request.app.state.replicas.report()
    warnings += [r["warning"] for r in replicas if r.get("warning")]
    return {"status": "ready", "migration": current, "warnings": warnings, "replicas": replicas}


@router.get(
    "/metrics",
    operation_id="system_metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text exposition format", "content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    update_pool_gauges(request.app.state.engine)
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)


meta_router = Router(prefix="/api/v1/meta", tags=["meta"])


@meta_router.get(
    "/enums",
    operation_id="meta_enums",
    summary="Every enum with its Chinese label (枚举与中文标签)",
    description="Clients render labels from here instead of hard-coding them.",
)
async def enums() -> dict[str, list[dict[str, str]]]:
    return all_enums()
