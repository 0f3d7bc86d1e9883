"""Base schemas shared by every domain: strict input, bounded integers, NUL-free strings."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
Text = Annotated[str, AfterValidator(_no_nul)]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("must include a UTC offset (RFC 3339), e.g. 2026-11-23T09:30:00+08:00")
    return value


AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
"""The dates a query parameter may name: wide enough for any record, far enough from the calendar's
ends that a window around them (a day more, a time zone's shift) is still a date."""
DATE_OUT_OF_RANGE = "date_out_of_range"
"""The error type (and the problem's ``code``) of a well-formed date outside those bounds: a rule of
the service, not of the schema, which only says ``format: date`` / ``date-time``."""


def in_date_range(day: dt.date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE


def _out_of_range() -> PydanticCustomError:
    return PydanticCustomError(
        DATE_OUT_OF_RANGE,
        "must be between {earliest} and {latest}",
        {"earliest": str(EARLIEST_DATE), "latest": str(LATEST_DATE)},
    )


def _date_in_range(value: dt.date) -> dt.date:
    if not in_date_range(value):
        raise _out_of_range()
    return value


def _datetime_in_range(value: dt.datetime) -> dt.datetime:
    if not in_date_range(value.date()):
        raise _out_of_range()
    return value


def _date_time_text(value: Any) -> Any:
    # Query strings: pydantic would read `0.5` as a Unix timestamp; the schema promises RFC 3339.
    if isinstance(value, str) and not _DATE.match(value):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-11-23T09:30:00+08:00")
    return value


def _date_text(value: Any) -> Any:
    if isinstance(value, str) and not _DATE.fullmatch(value):
        raise ValueError("must be a date, e.g. 2026-11-23")
    return value


def plain_date(text: str) -> dt.date | None:
    """The date a :data:`QueryDate` parameter reads from ``text``, or None when it would refuse it."""
    if not _DATE.fullmatch(text):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if in_date_range(day) else None


QueryDatetime = Annotated[dt.datetime, BeforeValidator(_date_time_text), AfterValidator(_datetime_in_range)]
"""A date-time query parameter: RFC 3339 text only (no Unix timestamps), between the years 1900 and 2999."""
QueryDate = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(_date_in_range)]
"""A date query parameter: ``YYYY-MM-DD`` only (no Unix timestamps), between the years 1900 and 2999."""


def stripped_lengths_in_schema(schema: dict[str, Any]) -> None:
    """Strings are stripped before their length is checked, so ``minLength`` alone would let the schema
    allow ``"  "``: a pattern says that the characters counted are between non-spaces."""
    for prop in schema.get("properties", {}).values():
        for candidate in (prop, *prop.get("anyOf", ())):
            minimum = candidate.get("minLength", 0)
            if candidate.get("type") == "string" and minimum >= 1 and "pattern" not in candidate:
                candidate["pattern"] = r"\S" if minimum == 1 else rf"\S[\s\S]{{{minimum - 2},}}\S"


class InputModel(BaseModel):
    """Request bodies: unknown fields are errors, strings are stripped (and the schema says so)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_lengths_in_schema)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Out = TypeVar("Out", bound=BaseModel)


def output(model: type[Out], row: Any, **derived: Any) -> Out:
    """``model`` with each field that ``row`` carries under the same name, and ``derived`` for the
    fields computed from it (progress, masked names, nested lists)."""
    return model(**{name: getattr(row, name) for name in model.model_fields if name not in derived}, **derived)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="opaque; pass as `cursor` for the next page")


def example(value: Any) -> dict[str, Any]:
    """``json_schema_extra`` helper for OpenAPI examples."""
    return {"examples": [value]}
