"""/open311/v2 — Open311 GeoReport v2 (开放311): services, requests, tokens in JSON or XML.

Errors under these routes are always Open311's ``[{code, description}]`` (400, 403, 404, 405, 413,
429, 503), in the format the path asks for (JSON when it names none we know), never problem+json;
the router documents them itself (the app adds no problem+json responses to it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import SettingsDep
from app.db import SessionDep, discard_work, is_database_unavailable
from app.errors import AppError, ServiceUnavailable
from app.grids.models import Area
from app.integrations.open311 import format as fmt
from app.integrations.open311 import service
from app.kit import clock, idempotency
from app.kit.ratelimit import rate_limit
from app.kit.routing import Route, Router
from app.replicas import ReplicaSessionDep

logger = logging.getLogger("minqing.open311")

_STATUS_FROM_PROBLEM = {401: 403, 422: 400}


def _format_of(request: Request) -> fmt.Format:
    value = request.path_params.get("format") or request.url.path.rpartition(".")[2]
    return "xml" if value == "xml" else "json"


def _error_response(err: fmt.Open311Error, request: Request, headers: dict[str, str] | None = None) -> Response:
    body, media_type = fmt.render_errors([err], _format_of(request))
    return Response(body, status_code=err.status, media_type=media_type, headers=headers)


def _answer(exc: Exception, request: Request) -> Response | None:
    """An error in Open311's format; None for what the service's own handlers answer."""
    if isinstance(exc, fmt.Open311Error):
        return _error_response(exc, request, exc.headers)
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error_response(fmt.Open311Error(400, f"{where}: {first.get('msg', 'invalid')}"), request)
    if isinstance(exc, AppError):
        status = _STATUS_FROM_PROBLEM.get(exc.status, exc.status)
        return _error_response(fmt.Open311Error(status, exc.detail), request, exc.headers)
    if is_database_unavailable(exc):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        unavailable = fmt.Open311Error(503, "Service temporarily unavailable; retry shortly.")
        return _error_response(unavailable, request, ServiceUnavailable().headers)
    return None  # a replayed Idempotency-Key answer, or a 500


class Open311Route(Route):
    """Renders every error of its endpoint in Open311's format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                # Answered here, the error does not pass through the session's dependency: what the
                # request wrote is rolled back now, as for an error raised.
                await discard_work(request, exc)
                answer = _answer(exc, request)
                if answer is None:
                    raise
                return answer

        return route


READ_LIMIT = Depends(rate_limit("open311_read", "rate_limit_public_reads", 60))
WRITE_LIMIT = Depends(rate_limit("open311_write", "rate_limit_public_writes", 60))

FormatPath = Annotated[str, Path(description="`json` or `xml`", examples=["json"])]
JURISDICTION_DOC = (
    " `jurisdiction_id` is a district code (e.g. `T01`); required when the service covers more than one "
    "district, unknown → 404."
)
OPEN311_ERRORS_SCHEMA = {
    "type": "array",
    "description": "Open311's error list; the HTTP status is the first error's `code`.",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "xml": {"name": "error"},
    },
    "xml": {"name": "errors", "wrapped": True},
}
_FORMATS = ("application/json", "text/xml")
OPEN311_DISCOVERY_SCHEMA = {
    "type": "object",
    "description": "GeoReport v2 service discovery.",
    "required": ["changeset", "endpoints"],
    "properties": {
        "changeset": {"type": "string", "description": "when the endpoints last changed"},
        "contact": {"type": "string"},
        "key_service": {"type": "string", "description": "where API keys come from"},
        "endpoints": {
            "type": "array",
            "xml": {"wrapped": True},
            "items": {
                "type": "object",
                "xml": {"name": "endpoint"},
                "required": ["specification", "url", "type", "formats"],
                "properties": {
                    "specification": {"type": "string", "format": "uri"},
                    "url": {"type": "string", "format": "uri"},
                    "changeset": {"type": "string"},
                    "type": {"type": "string", "enum": ["production", "test"]},
                    "formats": {
                        "type": "array",
                        "xml": {"wrapped": True},
                        "items": {"type": "string", "enum": list(_FORMATS), "xml": {"name": "format"}},
                    },
                },
            },
        },
    },
    "xml": {"name": "discovery"},
}
_ERRORS_REF = {"$ref": "#/components/schemas/Open311Errors"}
_DISCOVERY_REF = {"$ref": "#/components/schemas/Open311Discovery"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text + " (Open311 error list)",
        "content": {
            "application/json": {"schema": _ERRORS_REF, "example": [{"code": status, "description": "…"}]},
            "application/xml": {"schema": _ERRORS_REF},
        },
    }
    for status, text in (
        (400, "Invalid request, including NUL characters in the URL or body"),
        (403, "Missing or invalid api_key"),
        (404, "Unknown jurisdiction, service, request or format"),
        (413, "Request body too large"),
        (429, "Too many requests; see `Retry-After`"),
        (503, "The database is unavailable; retry shortly"),
    )
}
router = Router(prefix="/open311/v2", tags=["open311"], route_class=Open311Route, responses=_ERRORS)
_OK = {200: {"content": {"application/json": {}, "application/xml": {}}}}


def _read(path: str, **doc: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``GET`` ``path``: a read limited per client (``READ_LIMIT``) answering JSON or XML."""
    return router.get(path, dependencies=[READ_LIMIT], responses=_OK, **doc)


def _format(value: str) -> fmt.Format:
    if value not in ("json", "xml"):
        raise fmt.Open311Error(404, "Unknown format; use .json or .xml.")
    return value  # type: ignore[return-value]


def _query(request: Request) -> dict[str, list[str]]:
    return {k: request.query_params.getlist(k) for k in request.query_params}


async def _jurisdiction(request: Request, session: AsyncSession) -> Area:
    """The district named by the query's ``jurisdiction_id`` (404 when unknown; optional with one district)."""
    return await service.jurisdiction(session, request.query_params.get("jurisdiction_id"))


def _document(rendered: tuple[bytes, str], status: int = 200) -> Response:
    body, media_type = rendered
    return Response(body, status_code=status, media_type=media_type)


@router.get(
    "/discovery.{format}",
    dependencies=[READ_LIMIT],
    operation_id="open311_discovery",
    summary="Service discovery (服务发现)",
    description="GeoReport v2 service discovery: the endpoint's absolute `url`, its specification, "
    "`changeset` (when it last changed), type `production` and the formats it answers in.",
    responses={
        200: {
            "content": {"application/json": {"schema": _DISCOVERY_REF}, "application/xml": {"schema": _DISCOVERY_REF}}
        }
    },
)
async def discovery(request: Request, format: FormatPath) -> Response:
    f = _format(format)
    url = str(request.base_url).rstrip("/") + router.prefix
    return _document(fmt.render_discovery(url, f))


@_read(
    "/services.{format}",
    operation_id="open311_services",
    summary="Service list (服务类型)",
    description="Our issue categories as Open311 services: `service_code` = category code, `service_name` "
    "= Chinese name, `group` = parent category, `metadata` true when the service asks attributes "
    "(facilities: `location_detail`; safety hazards: `hazard_type`)." + JURISDICTION_DOC,
)
async def list_services(request: Request, format: FormatPath, session: ReplicaSessionDep) -> Response:
    f = _format(format)
    await _jurisdiction(request, session)
    return _document(fmt.render_services(await service.services(session), f))


@_read(
    "/services/{service_code}.{format}",
    operation_id="open311_service_definition",
    summary="Service definition (服务属性)",
    description="The attributes a service asks for (`attribute[code]` when posting)." + JURISDICTION_DOC,
)
async def service_definition(
    request: Request, service_code: Annotated[str, Path(max_length=32)], format: FormatPath, session: ReplicaSessionDep
) -> Response:
    f = _format(format)
    await _jurisdiction(request, session)
    return _document(fmt.render_service_definition(await service.service_definition(session, service_code), f))


@_read(
    "/requests.{format}",
    operation_id="open311_requests_list",
    summary="Service requests (诉求查询)",
    description="Requests filed through Open311 in the jurisdiction, newest first, without any reporter "
    "data. Filters: `service_request_id` (comma-separated numbers or UUIDs; overrides the others), "
    "`service_code`, `start_date`, `end_date` (W3C datetimes; at most 90 days apart, default the last "
    "90 days), `status` (`open`, `closed`). At most 1000 requests. `closed` means resolved, verified, "
    "closed, rejected or merged; `status_notes` is the resolution once resolved; "
    "`expected_datetime` the resolve deadline." + JURISDICTION_DOC,
)
async def list_requests(
    request: Request, format: FormatPath, session: ReplicaSessionDep, settings: SettingsDep
) -> Response:
    f = _format(format)
    district = await _jurisdiction(request, session)
    filters = fmt.parse_list_filters(_query(request), now=clock.now(), tz=ZoneInfo(settings.timezone))
    return _document(fmt.render_service_requests(await service.list_requests(session, settings, district, filters), f))


POST_FIELDS = {
    "type": "object",
    "required": ["api_key", "service_code"],
    "properties": {
        "api_key": {"type": "string", "description": "an integration API key (mq_…)"},
        "jurisdiction_id": {"type": "string"},
        "service_code": {"type": "string", "examples": ["lighting"]},
        "lat": {"type": "number"},
        "long": {"type": "number"},
        "address_string": {"type": "string"},
        "address_id": {"type": "string"},
        "email": {"type": "string"},
        "device_id": {"type": "string"},
        "account_id": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "phone": {"type": "string"},
        "description": {"type": "string", "maxLength": 4000},
        "media_url": {"type": "string", "format": "uri"},
        "attribute[location_detail]": {"type": "string"},
    },
}


@router.post(
    "/requests.{format}",
    dependencies=[WRITE_LIMIT],
    operation_id="open311_requests_create",
    summary="Submit a service request (提交诉求)",
    description="Form-encoded, per GeoReport v2. Needs `api_key` (an integration API key; else 403). A "
    "location is required: `lat` + `long`, or `address_string`. The request becomes an issue (channel "
    "`open311`) routed inside the key's area, and the answer carries its `service_request_id` (the "
    "issue number) at once, never a token. " + idempotency.POLICY_DOC + JURISDICTION_DOC,
    responses=_OK,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": POST_FIELDS}},
        }
    },
)
async def create_request(
    request: Request,
    format: FormatPath,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    f = _format(format)
    await request.body()  # kept for the Idempotency-Key fingerprint; the form is parsed from it
    raw = await request.form()
    fields: dict[str, Any] = {k: raw.getlist(k) for k in raw}
    form = fmt.parse_post_form({k: [v for v in vals if isinstance(v, str)] for k, vals in fields.items()})
    principal = await service.api_key_principal(session, form.api_key or request.query_params.get("api_key"))
    district = await service.jurisdiction(session, form.jurisdiction_id or request.query_params.get("jurisdiction_id"))

    async def post() -> Response:
        posted = await service.post_request(session, settings, principal, district, form)
        return _document(fmt.render_post_response([posted], f), 201)

    return await idempotency.once(session, request, principal.idempotency_owner, idempotency_key, post)


@_read(
    "/requests/{service_request_id}.{format}",
    operation_id="open311_requests_get",
    summary="One service request (诉求详情)",
    description="By issue number or issue UUID; a list of one, like `GET requests`." + JURISDICTION_DOC,
)
async def get_request(
    request: Request,
    service_request_id: Annotated[str, Path(max_length=64)],
    format: FormatPath,
    session: ReplicaSessionDep,
    settings: SettingsDep,
) -> Response:
    f = _format(format)
    district = await _jurisdiction(request, session)
    found = await service.get_request(session, settings, district, service_request_id)
    return _document(fmt.render_service_requests([found], f))


@_read(
    "/tokens/{token}.{format}",
    operation_id="open311_tokens_get",
    summary="Request id for a token",
    description="Requests get their id synchronously, so tokens are never handed out; for clients that "
    "ask anyway, the issue UUID works as a token and maps to the issue number." + JURISDICTION_DOC,
)
async def get_token(
    request: Request, token: Annotated[str, Path(max_length=64)], format: FormatPath, session: ReplicaSessionDep
) -> Response:
    f = _format(format)
    district = await _jurisdiction(request, session)
    return _document(fmt.render_tokens([await service.token(session, district, token)], f))


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@router.api_route("/{rest:path}", methods=list(_METHODS), include_in_schema=False)
async def unknown(request: Request, rest: str) -> Response:
    """Every other path and method: 405 with ``Allow`` when another method fits the path, else 404."""
    allowed = {
        method
        for route in router.routes
        if isinstance(route, APIRoute) and route.endpoint is not unknown and route.path_regex.match(request.url.path)
        for method in route.methods
    }
    if allowed:
        listed = ", ".join(m for m in _METHODS if m in allowed)
        raise fmt.Open311Error(405, f"Method not allowed; use {listed}.", headers={"Allow": listed})
    raise fmt.Open311Error(404, "Unknown Open311 resource.")


def install_openapi(app: Any) -> None:
    """Add the Open311 documents' schemas, and drop the framework's 422 from the Open311 operations:
    invalid input is answered 400 there."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema: dict[str, Any] = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Open311Errors", OPEN311_ERRORS_SCHEMA)
        components.setdefault("Open311Discovery", OPEN311_DISCOVERY_SCHEMA)
        for path, item in schema.get("paths", {}).items():
            if path.startswith(router.prefix + "/"):
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
        return schema

    app.openapi = openapi
