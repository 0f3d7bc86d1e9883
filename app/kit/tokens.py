"""Opaque values the service hands out and takes back (list cursors, sync cursors): sealed and bound.

A client may only hand back what it was given. Every such value is sealed here and opened here:

    1.<payload>.<tag>

``payload`` is the base64url JSON array of the values (datetimes and UUIDs tagged, as ``{"t": …}``
and ``{"u": …}``); ``tag`` the first 16 bytes of HMAC-SHA256 over the version, the *purpose*
(which list or feed it belongs to, e.g. ``list:issues``), the *binding* (whom it was issued to and
anything else it only holds for, e.g. one issue's comments) and the payload. The key is derived
from the server secret for this use alone (HMAC of a label), so it is never the JWT key itself.

Opening checks the tag first and then the shape: each value must have the type and range its
:data:`Check` allows, so a cursor yields typed values (ints within ``bigint``/``xid8``, aware
datetimes, UUIDs, bounded text) or the one refusal, 422 ``invalid_cursor`` naming the parameter at
fault. A tampered value, one from another list or another caller, or one signed with a retired
secret are all refused alike; nothing in a payload is trusted before its tag is.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from app.config import Settings
from app.errors import ValidationFailed, field_error

VERSION = "1"
_TAG_BYTES = 16
_KEY_LABEL = b"minqing/opaque-values/v1"
MAX_TEXT = 1000

Check = Callable[[Any], Any]
"""Turns one decoded JSON value into the typed value, or raises ValueError."""


def invalid_cursor(field: str = "cursor", what: str = "this list") -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid; start again without one.",
        code="invalid_cursor",
        errors=[field_error(field, f"not a cursor this service issued to you for {what}")],
    )


# --- the checks of a payload's values -----------------------------------------------------------


def integer(lo: int, hi: int) -> Check:
    def check(value: Any) -> int:
        if type(value) is not int or not lo <= value <= hi:
            raise ValueError("integer out of range")
        return value

    return check


BIGINT = integer(-(2**63), 2**63 - 1)
XID8 = integer(0, 2**64 - 1)


def text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        raise ValueError("not a text")
    value.encode()  # lone surrogates cannot go to the database
    return value


_LTREE = re.compile(r"[A-Za-z0-9_]{1,256}(\.[A-Za-z0-9_]{1,256}){0,64}")


def area_path(value: Any) -> str:
    if not isinstance(value, str) or not _LTREE.fullmatch(value):
        raise ValueError("not an area path")
    return value


def timestamp(value: Any) -> dt.datetime:
    if not (isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str)):
        raise ValueError("not a timestamp")
    at = dt.datetime.fromisoformat(value["t"])
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("timestamp without offset")
    at.astimezone(dt.UTC)  # raises OverflowError at the edges of the calendar
    return at


def uuid_value(value: Any) -> uuid.UUID:
    if not (isinstance(value, dict) and set(value) == {"u"} and isinstance(value["u"], str)):
        raise ValueError("not a uuid")
    return uuid.UUID(value["u"])


def optional(check: Check) -> Check:
    def maybe(value: Any) -> Any:
        return None if value is None else check(value)

    return maybe


TIME_ID: tuple[Check, ...] = (timestamp, uuid_value)
"""The sort key of most lists: ``(created_at, id)``."""


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    return value


# --- sealing and opening ------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _derive(secret: str) -> bytes:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _key(settings: Settings) -> bytes:
    return _derive(settings.require_jwt_secret())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text_: str) -> bytes:
    return base64.urlsafe_b64decode(text_ + "=" * (-len(text_) % 4))


def _tag(key: bytes, purpose: str, binding: Sequence[str], payload: str) -> bytes:
    message = "\n".join((VERSION, purpose, json.dumps(list(binding)), payload)).encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def seal(settings: Settings, purpose: str, values: Sequence[Any], *, binding: Sequence[str] = ()) -> str:
    """The opaque text for ``values``, valid only for ``purpose`` and ``binding``."""
    payload = _b64(json.dumps([_encode(v) for v in values], separators=(",", ":")).encode())
    return f"{VERSION}.{payload}.{_b64(_tag(_key(settings), purpose, binding, payload))}"


def open_(
    settings: Settings,
    purpose: str,
    token: str,
    shape: Sequence[Check],
    *,
    binding: Sequence[str] = (),
    field: str = "cursor",
    what: str = "this list",
) -> list[Any]:
    """The typed values sealed in ``token``, or 422 ``invalid_cursor`` naming ``field``."""
    try:
        version, payload, tag = token.split(".")
        # Compared as text: base64 ignores the spare bits of its last character, so two texts can
        # decode to the same tag — only the one this service wrote is accepted.
        expected = _b64(_tag(_key(settings), purpose, binding, payload))
        if version != VERSION or not hmac.compare_digest(tag.encode(), expected.encode()):
            raise ValueError("not ours")
        raw = json.loads(_unb64(payload))
        if not isinstance(raw, list) or len(raw) != len(shape):
            raise ValueError("wrong shape")
        return [check(v) for check, v in zip(shape, raw, strict=True)]
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise invalid_cursor(field, what) from exc
