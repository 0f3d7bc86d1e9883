"""How every exception becomes a problem response: the application's exception handlers, for the
errors services raise (:mod:`app.errors`), the framework's refusals, a write that lost a race, a
database that went away, and anything unexpected (a 500 that says nothing of its cause)."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.db import is_database_unavailable
from app.errors import (
    AppError,
    Conflict,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
    field_error,
    problem_response,
    validation_failed,
)
from app.kit.etag import version_after_lost_race
from app.kit.idempotency import Replay
from app.kit.ids import id_taken

logger = logging.getLogger("minqing.errors")

# Deadlock detected, serialization failure: the transaction was rolled back and may simply be retried.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
_UNIQUE_VIOLATION = "23505"


def _sqlstate(exc: BaseException) -> str | None:
    cur: BaseException | None = exc
    for _ in range(5):
        if cur is None:
            return None
        state = getattr(cur, "sqlstate", None) or getattr(getattr(cur, "orig", None), "sqlstate", None)
        if state:
            return str(state)
        cur = cur.__cause__
    return None


def _duplicate(exc: BaseException) -> Conflict:
    """A unique constraint refused a row that another request wrote a moment earlier (two uploads
    of one offline record racing each other): 409, naming the fields — never their values."""
    cur: BaseException | None = exc
    driver: Any = None
    for _ in range(5):
        if cur is None:
            break
        if getattr(cur, "constraint_name", None) is not None:
            driver = cur
            break
        orig = getattr(cur, "orig", None)
        cur = getattr(orig, "__cause__", None) or orig or cur.__cause__
    constraint = str(getattr(driver, "constraint_name", "") or "")
    found = _KEY_COLUMNS.match(str(getattr(driver, "detail", "") or ""))
    fields = [f.strip() for f in found.group(1).split(",")] if found else []
    if constraint.startswith("pk_"):  # the id a client chose, sent twice at once: as for a taken id
        return id_taken()
    return Conflict(
        "Another request wrote the same record at the same moment; reload and retry.",
        code="already_exists",
        errors=[field_error(f, "taken") for f in fields],
        headers={"Retry-After": "1"},
    )


_KEY_COLUMNS = re.compile(r"Key \(([^)]*)\)=")


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts at this path (Starlette names only the first matching route's)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(Replay)
    async def _replay(request: Request, exc: Replay) -> Response:
        return exc.response  # the stored answer of an Idempotency-Key; this request's work was rolled back

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_failed(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # The framework's "error parsing the body" (e.g. JSON that is not UTF-8): invalid input, 422.
            malformed = ValidationFailed(
                "The request body cannot be read: send UTF-8 JSON.",
                code="malformed_body",
                errors=[field_error("body", "cannot be decoded")],
            )
            return problem_response(malformed, request)
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        err = AppError(
            str(exc.detail),
            status=exc.status_code,
            code=codes.get(exc.status_code, "http_error"),
            title=str(exc.detail),
            headers=headers,
        )
        return problem_response(err, request)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if _sqlstate(exc) == _UNIQUE_VIOLATION:
            logger.info("unique violation: %s", type(exc).__name__)
            return problem_response(_duplicate(exc), request)
        if _sqlstate(exc) in _RETRYABLE_SQLSTATES:
            logger.info("concurrent update: %s", _sqlstate(exc))
            return problem_response(
                Conflict(
                    "Another change to the same records happened at the same moment; retry the request.",
                    code="concurrent_update",
                    headers={"Retry-After": "1"},
                ),
                request,
            )
        if is_database_unavailable(exc):
            logger.warning("database unavailable: %s", exc.__class__.__name__)
            return problem_response(
                ServiceUnavailable("The database is unavailable; retry shortly.", code="database_unavailable"),
                request,
            )
        logger.exception("unhandled error")
        return problem_response(
            AppError("An unexpected error occurred.", status=500, code="internal_error", title="Internal error"),
            request,
        )

    # Specific classes are handled inside the exception middleware (the response is final there);
    # the catch-all ``Exception`` handler runs in the outermost middleware, which re-raises.
    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        # A versioned row's UPDATE (WHERE version = the version the request read, which its
        # If-Match named) matched nothing: another writer committed first. As for a stale If-Match.
        current = await version_after_lost_race(request, exc)
        extra: dict[str, Any] = {"current_version": current} if current is not None else {}
        stale = PreconditionFailed(
            "The resource was changed by another request while yours was being applied. Reload and retry.",
            code="version_mismatch",
            **extra,
        )
        return problem_response(stale, request)

    driver = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    for exc_class in (OSError, TimeoutError, SQLAlchemyError, *driver):
        app.add_exception_handler(exc_class, _unexpected)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)  # type: ignore[arg-type]
