"""Password hashing (argon2id), bearer JWTs and API key material."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import anyio
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.kit import clock

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same (no user enumeration).
_DUMMY_HASH = _hasher.hash("minqing-dummy-password")

# argon2 costs ~0.1-0.2 s of CPU and 64 MiB per call: in a request it runs in a worker thread (the
# C code releases the GIL), at most this many at once per process, so the event loop keeps serving
# every other request while someone signs in and a burst of sign-ins cannot exhaust memory.
PASSWORD_HASHING_THREADS = 2
_hashing = anyio.CapacityLimiter(PASSWORD_HASHING_THREADS)

API_KEY_PREFIX = "mq_"


def hash_password(password: str) -> str:
    """Hash with the current parameters, here and now: for scripts and start-up code, never a request
    (use :func:`hash_password_off_loop` there)."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _verify_and_renew(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    if not verify_password(password, password_hash) or password_hash is None:
        return False, None
    try:
        stale = _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        stale = True
    return True, (_hasher.hash(password) if stale else None)


async def hash_password_off_loop(password: str) -> str:
    """:func:`hash_password` in a bounded worker thread, off the event loop."""
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_hashing)


async def check_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``password_hash`` (a missing hash costs the same and fails), and
    when it matches a hash made with other parameters than today's, a new hash to store — both in a
    bounded worker thread, off the event loop."""
    return await anyio.to_thread.run_sync(_verify_and_renew, password, password_hash, limiter=_hashing)


def issue_token(*, user_id: uuid.UUID, role: str, secret: str, ttl_seconds: int, issuer: str) -> tuple[str, int]:
    now = clock.now()
    claims = {
        "sub": str(user_id),
        "role": role,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256"), ttl_seconds


# Verifying an HS256 signature and the claims costs as much as the rest of a cached read, and a
# phone sends the same token for hours: remember tokens whose signature and claims checked out
# (never failures). Expiry is checked again on every use; the user row is still read per request,
# so deactivation stays immediate. Keyed by secret and issuer too, so rotating the secret drops them.
_VERIFIED_MAX = 4096
_verified: OrderedDict[tuple[str, str, str], tuple[uuid.UUID, int]] = OrderedDict()


def decode_token(token: str, *, secret: str, issuer: str) -> uuid.UUID | None:
    """The user id of a valid, unexpired token, or None."""
    key = (token, secret, issuer)
    hit = _verified.get(key)
    if hit is not None:
        if hit[1] > clock.timestamp():
            _verified.move_to_end(key)
            return hit[0]
        _verified.pop(key, None)
        return None
    try:
        # The signature, issuer and claims' presence by the library; the times against the clock
        # (as PyJWT would: expired at ``exp``, not yet valid before ``iat``).
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            options={"require": ["exp", "sub", "iat"], "verify_exp": False, "verify_iat": False},
        )
        user_id = uuid.UUID(claims["sub"])
        expires, issued = int(claims["exp"]), int(claims["iat"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    now = clock.timestamp()
    if expires <= now or issued > now:
        return None
    _verified[key] = (user_id, expires)
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return user_id


@dataclass(frozen=True)
class NewApiKey:
    plaintext: str  # shown to the caller once
    prefix: str
    key_hash: str


def hash_api_key(plaintext: str) -> str:
    # Keys carry 256 bits of entropy, so a fast hash is enough (a slow KDF would tax every request).
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    plaintext = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(plaintext=plaintext, prefix=prefix, key_hash=hash_api_key(plaintext))


def split_api_key(plaintext: str) -> str | None:
    """The lookup prefix of a key that looks like ours, else None."""
    if not plaintext.startswith(API_KEY_PREFIX):
        return None
    rest = plaintext[len(API_KEY_PREFIX) :]
    prefix, sep, _ = rest.partition("_")
    return prefix if sep and len(prefix) == 12 else None


def api_key_matches(plaintext: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(plaintext), key_hash)
