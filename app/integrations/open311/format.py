"""Open311 GeoReport v2 representations (https://wiki.open311.org/GeoReport_v2).

Residents' apps and city portals speak GeoReport v2; this module turns Minqing's data into its JSON
and XML documents and reads its inputs, with no I/O:

* renderers, one per document kind, returning ``(body, media_type)``:
  :func:`render_services`, :func:`render_service_definition`, :func:`render_service_requests`,
  :func:`render_post_response`, :func:`render_tokens`, :func:`render_errors`;
* :func:`parse_post_form` for ``POST requests.{format}`` (提交诉求) and
  :func:`parse_list_filters` for ``GET requests.{format}`` (查询诉求).

Representation rules, shared by both formats: elements appear in the order the specification
lists them, and every element is present even when empty (``null`` in JSON, ``<tag></tag>`` in
XML); datetimes are W3C/ISO 8601 with their offset, to the second; booleans are ``true``/``false``.
Open311 has its own error format, so input problems raise :class:`Open311Error` rather than the
problem+json errors of the rest of the API.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal

from app.errors import AppError
from app.kit import clock
from app.kit.schemas import EARLIEST_DATE, LATEST_DATE

Format = Literal["json", "xml"]
ServiceType = Literal["realtime", "batch", "blackbox"]
Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
RequestStatus = Literal["open", "closed"]

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

DESCRIPTION_MAX_LENGTH = 4000
"""The specification limits a request's description to 4,000 characters."""
DEFAULT_WINDOW = timedelta(days=90)
"""Without dates, ``GET requests`` covers the last 90 days; a date range may not span more."""
MAX_REQUESTS = 1000
"""At most this many service requests are returned by one ``GET requests``."""
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


class Open311Error(Exception):
    """An Open311 error: ``code`` is both the error's code and the HTTP status (400, 403, 404, …)."""

    def __init__(self, code: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return self.code


# --- documents ---------------------------------------------------------------------------------
# Each document declares its elements in the order the specification lists them.


def _elements(document: Any, **rendered: Any) -> dict[str, Any]:
    """The elements of ``document`` in their declared order, datetimes as W3C; ``rendered`` gives
    the elements that need more than that (a list joined, nested documents)."""
    return {
        f.name: rendered[f.name] if f.name in rendered else _element(getattr(document, f.name))
        for f in fields(document)
    }


def _element(value: Any) -> Any:
    return _datetime(value) if isinstance(value, datetime) else value


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """One entry of ``GET services`` (服务类型, an issue category offered to residents)."""

    service_code: str
    service_name: str
    description: str | None = None
    metadata: bool = False
    type: ServiceType = "realtime"
    keywords: Sequence[str] = ()
    group: str | None = None

    def to_open311(self) -> dict[str, Any]:
        return _elements(self, keywords=", ".join(self.keywords) if self.keywords else None)


@dataclass(frozen=True, slots=True)
class AttributeValue:
    key: str | int
    name: str

    def to_open311(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name}


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribute:
    """An extra question asked for a service; ``values`` only for the two list datatypes."""

    variable: bool = True
    code: str
    datatype: Datatype
    required: bool = False
    datatype_description: str | None = None
    order: int
    description: str
    values: Sequence[AttributeValue] = ()

    def to_open311(self) -> dict[str, Any]:
        return _elements(self, values=[v.to_open311() for v in self.values])


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """``GET services/{service_code}``: the attributes of a service with ``metadata`` true."""

    service_code: str
    attributes: Sequence[Attribute] = ()

    def to_open311(self) -> dict[str, Any]:
        ordered = sorted(self.attributes, key=lambda a: a.order)
        return {"service_code": self.service_code, "attributes": [a.to_open311() for a in ordered]}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRequest:
    """One entry of ``GET requests`` (诉求)."""

    service_request_id: str
    status: RequestStatus
    status_notes: str | None = None
    service_name: str | None = None
    service_code: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: datetime | None = None
    updated_datetime: datetime | None = None
    expected_datetime: datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None

    def to_open311(self) -> dict[str, Any]:
        return _elements(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostedRequest:
    """The answer to ``POST requests``: the new id, or a token when the id is assigned later."""

    service_request_id: str | None = None
    token: str | None = None
    service_notice: str | None = None
    account_id: str | None = None

    def __post_init__(self) -> None:
        if (self.service_request_id is None) == (self.token is None):
            raise ValueError("a posted request has either a service_request_id or a token")

    def to_open311(self) -> dict[str, Any]:
        ident = (
            {"service_request_id": self.service_request_id}
            if self.service_request_id is not None
            else {"token": self.token}
        )
        return {**ident, "service_notice": self.service_notice, "account_id": self.account_id}


@dataclass(frozen=True, slots=True)
class RequestToken:
    """``GET tokens/{token}``: the request id a token turned into (``None`` while pending)."""

    token: str
    service_request_id: str | None = None

    def to_open311(self) -> dict[str, Any]:
        return {"service_request_id": self.service_request_id, "token": self.token}


# --- rendering ---------------------------------------------------------------------------------

_XML_ITEM_NAMES = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
# Characters XML 1.0 cannot carry at all, even escaped; they are dropped from XML output.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError("Open311 datetimes need a time zone")
    return value.replace(microsecond=0).isoformat()


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _xml_fill(parent: ET.Element, data: Mapping[str, Any]) -> None:
    for name, value in data.items():
        child = ET.SubElement(parent, name)
        if isinstance(value, list):
            for item in value:
                element = ET.SubElement(child, _XML_ITEM_NAMES[name])
                if isinstance(item, Mapping):
                    _xml_fill(element, item)
                else:
                    element.text = _xml_text(item)
        elif isinstance(value, Mapping):
            _xml_fill(child, value)
        else:
            child.text = _xml_text(value)


def _xml_document(root_name: str, item_name: str | None, items: Sequence[Mapping[str, Any]]) -> bytes:
    root = ET.Element(root_name)
    if item_name is None:
        _xml_fill(root, items[0])
    else:
        for item in items:
            _xml_fill(ET.SubElement(root, item_name), item)
    return XML_DECLARATION + ET.tostring(root, encoding="unicode", short_empty_elements=False).encode()


def _json_document(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, allow_nan=False).encode()


def _render(
    fmt: Format, root_name: str, item_name: str | None, items: Sequence[Mapping[str, Any]]
) -> tuple[bytes, str]:
    if fmt == "json":
        body = _json_document(items[0] if item_name is None else list(items))
    elif fmt == "xml":
        body = _xml_document(root_name, item_name, items)
    else:
        raise ValueError(f"unknown Open311 format {fmt!r}")
    return body, MEDIA_TYPES[fmt]


def render_services(services: Sequence[Service], fmt: Format) -> tuple[bytes, str]:
    """``GET services``: ``[{...}]`` / ``<services><service>…</service></services>``."""
    return _render(fmt, "services", "service", [s.to_open311() for s in services])


def render_service_definition(definition: ServiceDefinition, fmt: Format) -> tuple[bytes, str]:
    """``GET services/{code}``: ``{service_code, attributes}`` / ``<service_definition>``."""
    return _render(fmt, "service_definition", None, [definition.to_open311()])


def render_service_requests(requests: Sequence[ServiceRequest], fmt: Format) -> tuple[bytes, str]:
    """``GET requests`` and ``GET requests/{id}``: ``<service_requests><request>…``."""
    return _render(fmt, "service_requests", "request", [r.to_open311() for r in requests])


def render_post_response(results: Sequence[PostedRequest], fmt: Format) -> tuple[bytes, str]:
    """``POST requests``: ``[{service_request_id | token, service_notice, account_id}]``."""
    return _render(fmt, "service_requests", "request", [r.to_open311() for r in results])


def render_tokens(tokens: Sequence[RequestToken], fmt: Format) -> tuple[bytes, str]:
    """``GET tokens/{token}``: ``[{service_request_id, token}]``."""
    return _render(fmt, "service_requests", "request", [t.to_open311() for t in tokens])


# GeoReport v2 service discovery: where the API is, which version and formats it speaks.
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00+08:00"  # when this endpoint last changed in a way clients notice


def render_discovery(url: str, fmt: Format) -> tuple[bytes, str]:
    """``GET discovery``: ``{changeset, contact, key_service, endpoints: [{specification, url, …}]}``."""
    document = {
        "changeset": CHANGESET,
        "contact": "The street office that runs this service (its administrators issue API keys).",
        "key_service": "Integration API keys (mq_…) are issued by the service's administrators "
        "(POST /api/v1/api-keys, role integration).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return _render(fmt, "discovery", None, [document])


def refusal(err: AppError, path: str) -> tuple[int, bytes, str]:
    """A refusal made before any Open311 route runs (body too large, NUL in the URL, the database
    away: the request middleware's ``error_formats``) in Open311's format; invalid input is 400 here."""
    status = 400 if err.status == 422 else err.status
    body, media_type = render_errors([Open311Error(status, err.detail)], "xml" if path.endswith(".xml") else "json")
    return status, body, media_type


def render_errors(errors: Sequence[Open311Error], fmt: Format) -> tuple[bytes, str]:
    """``[{code, description}]`` / ``<errors><error><code/><description/></error></errors>``.

    The HTTP status of the response is the ``code`` of the first error.
    """
    items = [{"code": e.code, "description": e.description} for e in errors]
    return _render(fmt, "errors", "error", items)


# --- input -------------------------------------------------------------------------------------

FormValue = str | list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Open311PostRequest:
    """The fields of ``POST requests``; ``attributes`` maps an attribute code to its value(s)."""

    service_code: str
    api_key: str | None = None
    jurisdiction_id: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestListFilters:
    """Filters of ``GET requests``.

    ``service_request_id``, when given, overrides every other filter (as the specification says),
    and the dates are then ``None``. Otherwise the dates are always set: both bounds inclusive,
    at most :data:`DEFAULT_WINDOW` apart, the last 90 days when neither is given. Empty
    ``service_code``/``status`` tuples mean "any".
    """

    service_request_id: tuple[str, ...] = ()
    service_code: tuple[str, ...] = ()
    start_date: datetime | None = None
    end_date: datetime | None = None
    status: tuple[RequestStatus, ...] = ()
    jurisdiction_id: str | None = None
    limit: int = MAX_REQUESTS


_ATTRIBUTE_FIELD = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")


def _all_values(value: FormValue | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _first(form: Mapping[str, FormValue], name: str) -> str | None:
    for value in _all_values(form.get(name)):
        if value.strip():
            return value.strip()
    return None


def _coordinate(raw: str, name: str, limit: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number in decimal degrees (WGS84).") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise Open311Error(400, f"{name} must be between {-limit:g} and {limit:g}.")
    return value


def _collect_attributes(form: Mapping[str, FormValue]) -> dict[str, str | list[str]]:
    attributes: dict[str, str | list[str]] = {}
    for name, value in form.items():
        match = _ATTRIBUTE_FIELD.fullmatch(name)
        if match is None:
            continue
        code, is_list = match.group(1), match.group(2) is not None
        values = [v for v in _all_values(value) if v.strip()]
        if not values:
            continue
        if code in attributes:
            attributes[code] = _all_values(attributes[code]) + values
        elif is_list or len(values) > 1:
            attributes[code] = values
        else:
            attributes[code] = values[0]
    return attributes


def parse_post_form(form: Mapping[str, FormValue]) -> Open311PostRequest:
    """Read and validate a ``POST requests`` form.

    Checks what the specification requires of the request itself: ``service_code``; a location as
    ``lat`` + ``long``, ``address_string`` or ``address_id``; coordinates in range; a description of
    at most 4,000 characters; an http(s) ``media_url``. The ``api_key`` (403) and whether the
    service exists (404) are for the caller to check. ``attribute[CODE]`` gives a string,
    ``attribute[CODE][]`` (multivaluelist) a list.
    """
    service_code = _first(form, "service_code")
    if service_code is None:
        raise Open311Error(400, "service_code is required.")

    raw_lat, raw_long = _first(form, "lat"), _first(form, "long")
    if (raw_lat is None) != (raw_long is None):
        raise Open311Error(400, "lat and long must be given together.")
    lat = _coordinate(raw_lat, "lat", 90) if raw_lat is not None else None
    long = _coordinate(raw_long, "long", 180) if raw_long is not None else None
    address_string, address_id = _first(form, "address_string"), _first(form, "address_id")
    if lat is None and address_string is None and address_id is None:
        raise Open311Error(400, "A location is required: lat and long, address_string or address_id.")

    description = _first(form, "description")
    if description is not None and len(description) > DESCRIPTION_MAX_LENGTH:
        raise Open311Error(400, f"description may not be longer than {DESCRIPTION_MAX_LENGTH} characters.")
    media_url = _first(form, "media_url")
    if media_url is not None and not media_url.lower().startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http or https URL.")

    return Open311PostRequest(
        service_code=service_code,
        api_key=_first(form, "api_key"),
        jurisdiction_id=_first(form, "jurisdiction_id"),
        lat=lat,
        long=long,
        address_string=address_string,
        address_id=address_id,
        email=_first(form, "email"),
        device_id=_first(form, "device_id"),
        account_id=_first(form, "account_id"),
        first_name=_first(form, "first_name"),
        last_name=_first(form, "last_name"),
        phone=_first(form, "phone"),
        description=description,
        media_url=media_url,
        attributes=_collect_attributes(form),
    )


_W3C_DATETIME = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+\- ]\d{2}:?\d{2})?)?)?)?",
    re.IGNORECASE,
)


def parse_w3c_datetime(value: str, *, end: bool = False, tz: tzinfo = CHINA_STANDARD_TIME) -> datetime:
    """Parse a W3C datetime (``YYYY`` … ``YYYY-MM-DDThh:mm:ss.sTZD``).

    A value without a time is the start of that year, month or day, or with ``end=True`` its last
    instant, so that an ``end_date`` of ``2026-11-23`` includes the whole day. Values without an
    offset are read in ``tz``. A space in place of the offset's ``+`` (an unescaped ``+`` in a
    query string) is read as ``+``.
    """
    match = _W3C_DATETIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not a W3C datetime: {value!r}")
    g = match.groupdict()
    zone = g["zone"]
    if zone is None:
        offset = tz
    elif zone.upper() == "Z":
        offset = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    fraction = (g["fraction"] or "0")[:6].ljust(6, "0")
    start = datetime(
        int(g["year"]), int(g["month"] or 1), int(g["day"] or 1),
        int(g["hour"] or 0), int(g["minute"] or 0), int(g["second"] or 0), int(fraction),
        tzinfo=offset,
    )  # fmt: skip
    if not end or g["hour"] is not None:
        return start
    if g["day"] is not None:
        following = start + timedelta(days=1)
    elif g["month"] is not None:
        following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    else:
        following = start.replace(year=start.year + 1)
    return following - timedelta(microseconds=1)


_STATUSES: dict[str, RequestStatus] = {"open": "open", "closed": "closed"}


def _comma_list(query: Mapping[str, FormValue], name: str) -> tuple[str, ...]:
    items: list[str] = []
    for value in _all_values(query.get(name)):
        items.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(dict.fromkeys(items))


def _date_param(query: Mapping[str, FormValue], name: str, *, end: bool, tz: tzinfo) -> datetime | None:
    raw = _first(query, name)
    if raw is None:
        return None
    try:
        value = parse_w3c_datetime(raw, end=end, tz=tz)
    except (ValueError, OverflowError):
        raise Open311Error(400, f"{name} must be a W3C datetime, e.g. 2026-11-23T09:30:00+08:00.") from None
    if not EARLIEST_DATE <= value.date() <= LATEST_DATE:
        raise Open311Error(400, f"{name} must lie between {EARLIEST_DATE} and {LATEST_DATE}.")
    return value


def parse_list_filters(
    query: Mapping[str, FormValue],
    *,
    now: datetime | None = None,
    tz: tzinfo = CHINA_STANDARD_TIME,
) -> RequestListFilters:
    """Read the query of ``GET requests``; see :class:`RequestListFilters` for the defaults."""
    ids = _comma_list(query, "service_request_id")
    jurisdiction_id = _first(query, "jurisdiction_id")
    if ids:
        if len(ids) > MAX_REQUESTS:
            raise Open311Error(400, f"At most {MAX_REQUESTS} service_request_id values can be asked for.")
        return RequestListFilters(service_request_id=ids, jurisdiction_id=jurisdiction_id)

    statuses: list[RequestStatus] = []
    for raw_status in _comma_list(query, "status"):
        status = _STATUSES.get(raw_status.lower())
        if status is None:
            raise Open311Error(400, "status must be open, closed or both (comma-separated).")
        statuses.append(status)

    start = _date_param(query, "start_date", end=False, tz=tz)
    end = _date_param(query, "end_date", end=True, tz=tz)
    if end is None:
        end = start + DEFAULT_WINDOW if start is not None else now or clock.now()
    if start is None:
        start = end - DEFAULT_WINDOW
    if start > end:
        raise Open311Error(400, "start_date must not be after end_date.")
    if end - start > DEFAULT_WINDOW:
        raise Open311Error(400, f"The date range may not span more than {DEFAULT_WINDOW.days} days.")

    return RequestListFilters(
        service_code=_comma_list(query, "service_code"),
        start_date=start,
        end_date=end,
        status=tuple(dict.fromkeys(statuses)),
        jurisdiction_id=jurisdiction_id,
    )
