"""Domain errors and their RFC 9457 ``application/problem+json`` rendering.

Every error a client can see is an :class:`AppError` (or a subclass) with a stable ``code``.
Services raise these; one handler (:func:`app.http_errors.install_error_handlers`) renders them. Nothing below
the endpoint layer raises ``HTTPException``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.kit.schemas import DATE_OUT_OF_RANGE

PROBLEM_JSON = "application/problem+json"
# A problem's ``type`` is the page describing its code, served by the service itself
# (``GET /problems/{code}``, HTML or JSON): a URI reference relative to the service's origin.
PROBLEM_BASE = "/problems/"


class AppError(Exception):
    """An error the client is meant to see, rendered as problem+json."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    default_headers: ClassVar[Mapping[str, str]] = {}
    """The response's headers unless the error names its own (e.g. ``WWW-Authenticate`` with 401)."""

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.detail = detail or self.title
        self.errors = [dict(e) for e in errors] if errors else []
        self.headers = dict(self.default_headers if headers is None else headers)
        self.extra = extra
        super().__init__(self.detail)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Authentication required"
    default_headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Not allowed for your role"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(AppError):
    status, code, title = 410, "gone", "Gone"


class PreconditionFailed(AppError):
    status, code, title = 412, "precondition_failed", "The resource has changed"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(AppError):
    status, code, title = 422, "validation_failed", "The request is not valid"


class PreconditionRequired(AppError):
    status, code, title = 428, "precondition_required", "If-Match header required"


class RateLimited(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(max(1, int(retry_after)))})
        super().__init__(detail, **kw)


class ServiceUnavailable(AppError):
    status, code, title = 503, "service_unavailable", "Service temporarily unavailable"
    default_headers = {"Retry-After": "2"}


# The documented error responses: routers pass ``responses=problem_responses(404, 409, …)`` so the
# OpenAPI schema lists every status a route can answer, each as application/problem+json.
_STRINGS = {"type": "array", "items": {"type": "string"}}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details with a stable `code`. `type` is the page describing the code "
    "(`/problems/{code}`, relative to the service). Besides the standard members a problem carries those "
    "its code names below (e.g. `allowed_actions` with `invalid_transition`); clients ignore the others.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "examples": ["/problems/invalid_transition"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable snake_case error code"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {
            "type": "array",
            "description": "the fields at fault (`validation_failed` and other 422s)",
            "items": {"$ref": "#/components/schemas/ProblemFieldError"},
        },
        "allowed_actions": {
            **_STRINGS,
            "description": "`invalid_transition`, `action_not_permitted`, `not_assignee` …: what the caller may do now",
        },
        "issue_status": {"type": "string", "description": "`invalid_transition`: the issue's status"},
        "action": {"type": "string", "description": "`invalid_transition`: the action refused"},
        "current_version": {"type": "integer", "description": "`version_mismatch`: the current version (ETag)"},
        "allowed_roles": {**_STRINGS, "description": "`role_not_allowed`: the roles admitted"},
        "allowed": {**_STRINGS, "description": "`unsupported_file_type`: the accepted media types"},
        "max_bytes": {"type": "integer", "description": "`payload_too_large`: the limit"},
        "matched": {"type": "integer", "description": "`export_too_large`: rows matched"},
        "max_rows": {"type": "integer", "description": "`export_too_large`: the limit"},
        "retention_days": {"type": "integer", "description": "`cursor_expired`: how long changes are kept"},
        "limit": {"type": "integer", "description": "`rate_limited`: requests allowed per window"},
        "window_seconds": {"type": "integer", "description": "`rate_limited`: the window"},
        "issue_id": {"type": "string", "format": "uuid", "description": "`entry_escalated`: the issue"},
        "webhook_id": {"type": "string", "description": "`replayed`: the webhook-id seen before"},
    },
    "additionalProperties": True,
}
PROBLEM_FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One field at fault: where (`field`, dotted), what is wrong, and what is allowed.",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string"},
        "message": {"type": "string"},
        "type": {"type": "string", "description": "the kind of error (pydantic's error type for invalid input)"},
        "allowed": {"description": "what is allowed: bounds (`{ge, le, max_length…}`) or a list of values"},
    },
    "additionalProperties": True,
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

_PROBLEM_DESCRIPTIONS = {
    400: "Bad request",
    401: "No or invalid credentials (`not_authenticated`, `invalid_token`, `invalid_api_key`, …)",
    403: "Not allowed for your role (`role_not_allowed`)",
    404: "Unknown, or outside your jurisdiction",
    409: "Conflict with the current state (e.g. a code that is taken)",
    410: "Gone (e.g. a feedback link that was used or has expired)",
    412: "`If-Match` does not match the current version (`version_mismatch`, `invalid_if_match`)",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The request is not valid (`validation_failed`, with `errors`)",
    428: "`If-Match` is required (`if_match_required`)",
    429: "Too many requests; see `Retry-After`",
    503: "The database is unavailable; retry after `Retry-After` seconds",
}

# Every route can answer these: invalid input (422, also for NUL characters in the URL), a body over
# the size limit (413) and an unreachable database (503).
COMMON_PROBLEMS = (413, 422, 503)
# …and every private route these as well.
PRIVATE_PROBLEMS = (401, *COMMON_PROBLEMS)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses, as problem+json."""
    return {
        status: {"description": _PROBLEM_DESCRIPTIONS[status], "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}
        for status in statuses
    }


def install_problem_schema(app: FastAPI) -> None:
    """Add the ``Problem`` component the error responses refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", PROBLEM_SCHEMA)
        components.setdefault("ProblemFieldError", PROBLEM_FIELD_ERROR_SCHEMA)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def field_error(field: str, message: str, **extra: Any) -> dict[str, Any]:
    """One entry of a problem's ``errors`` list."""
    return {"field": field, "message": message, **extra}


def problem_response(err: AppError, request: Request | None = None) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        err.to_problem(instance),
        status_code=err.status,
        headers=err.headers,
        media_type=PROBLEM_JSON,
    )


def _loc_to_field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    # Drop the pydantic location prefix ("body", "query", ...) but keep it readable.
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if rest and where in {"body", "form"} else ".".join(parts)
    return ".".join(parts)


_ALLOWED_KEYS = ("expected", "ge", "gt", "le", "lt", "max_length", "min_length", "pattern", "earliest", "latest")


def validation_errors(exc: RequestValidationError | ValidationError, *, default: str = "body") -> list[dict[str, Any]]:
    """The one formatter of validation errors into a problem's ``errors``: ``{field, message, type}``
    and, where pydantic knows it, what is ``allowed``. A request's errors name the field without
    FastAPI's ``body`` prefix; a model validated by hand (a batch item, a pushed message) names it
    as is, ``default`` when the whole value is at fault."""
    out: list[dict[str, Any]] = []
    for e in exc.errors():
        loc = e.get("loc", ())
        item: dict[str, Any] = {
            "field": (_loc_to_field(loc) if isinstance(exc, RequestValidationError) else ".".join(map(str, loc)))
            or default,
            "message": e.get("msg", "invalid"),
            "type": e.get("type", "value_error"),
        }
        ctx = e.get("ctx") or {}
        allowed = {k: ctx[k] for k in _ALLOWED_KEYS if k in ctx}
        if allowed:
            item["allowed"] = {k: v if isinstance(v, int | float | str) else str(v) for k, v in allowed.items()}
        out.append(item)
    return out


def validation_failed(exc: RequestValidationError | ValidationError) -> ValidationFailed:
    """422 ``validation_failed`` with :func:`validation_errors`; the detail names the first five.

    A well-formed date the service does not serve (before 1900, after 2999) is a rule of the service,
    not input the schema forbids: it has its own code, ``date_out_of_range``, so clients (and schema
    fuzzers) can tell the two apart."""
    errors = validation_errors(exc)
    code = DATE_OUT_OF_RANGE if errors and all(e["type"] == DATE_OUT_OF_RANGE for e in errors) else None
    return ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors, code=code)
