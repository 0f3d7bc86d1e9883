"""Webhook signatures in the Standard Webhooks format (https://www.standardwebhooks.com/).

Used both ways: tickets pushed in by a city 12345 hotline (热线工单推送) are verified with
:func:`verify` on the raw body before anything is parsed, and webhooks Minqing sends out are
signed with :func:`signature_headers`.

A secret is ``whsec_`` followed by the base64 of the key bytes. The signed content is
``"{webhook-id}.{webhook-timestamp}." + body`` and the signature is
``v1,<base64(HMAC-SHA256(key, content))>``. The ``webhook-signature`` header may carry several
space-separated signatures, and a receiver may hold several secrets, so that a secret can be
rotated without dropping a message: any (secret, signature) pair that matches is accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping, Sequence

from app.errors import Unauthorized
from app.kit import clock

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300
"""Seconds a timestamp may lie in the past or in the future (replay window)."""

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


def generate_secret(num_bytes: int = 32) -> str:
    """A new random secret, ``whsec_<base64>``."""
    if not 24 <= num_bytes <= 64:
        raise ValueError("a webhook secret needs between 24 and 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(num_bytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The key bytes of a secret; the ``whsec_`` prefix is optional. ``ValueError`` if malformed."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret must be 'whsec_' followed by base64") from exc
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one message."""
    return f"{SIGNATURE_VERSION},{_digest(secret_key(secret), msg_id, timestamp, body)}"


def signature_headers(
    secret: str | Sequence[str],
    msg_id: str,
    body: bytes,
    now: float | None = None,
) -> dict[str, str]:
    """The three Standard Webhooks headers for an outgoing message.

    Pass several secrets while rotating: the message then carries one signature per secret, and
    the receiver accepts it with either the old or the new one.
    """
    timestamp = int(clock.timestamp() if now is None else now)
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys:
        raise ValueError("at least one secret is needed to sign a webhook")
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: " ".join(sign(s, msg_id, timestamp, body) for s in keys),
    }


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> str:
    """Check the signature of a received message and return its ``webhook-id``.

    ``body`` is the raw request body, exactly as received. Raises :class:`Unauthorized` with code
    ``signature_missing``, ``signature_timestamp_out_of_range`` or ``signature_invalid``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get(HEADER_ID, "").strip()
    raw_timestamp = lowered.get(HEADER_TIMESTAMP, "").strip()
    raw_signatures = lowered.get(HEADER_SIGNATURE, "").strip()
    if not (msg_id and raw_timestamp and raw_signatures):
        raise Unauthorized(
            "The webhook-id, webhook-timestamp and webhook-signature headers are required.",
            code="signature_missing",
        )

    current = clock.timestamp() if now is None else now
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        raise Unauthorized(
            "The webhook-timestamp header is not a Unix timestamp.",
            code="signature_timestamp_out_of_range",
        )
    timestamp = int(raw_timestamp)
    if abs(current - timestamp) > tolerance:
        raise Unauthorized(
            f"The webhook-timestamp is more than {tolerance} seconds away from the current time.",
            code="signature_timestamp_out_of_range",
        )

    candidates: list[bytes] = []
    for entry in raw_signatures.split():
        version, _, signature = entry.partition(",")
        if version == SIGNATURE_VERSION and signature:
            candidates.append(signature.encode())
    for secret in secrets:
        expected = _digest(secret_key(secret), msg_id, timestamp, body).encode()
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return msg_id
    raise Unauthorized("The webhook signature does not match.", code="signature_invalid")
