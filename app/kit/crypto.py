"""Field encryption (AES-256-GCM) and blind indexes (HMAC-SHA256) for personal data (个人信息).

Stored format: ``v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>``. ``kid`` names the key (the first
8 hex digits of its SHA-256), so old rows stay readable after the key rotates: list the old key in
``previous_data_keys`` and re-encrypt at leisure. The associated data binds a ciphertext to its
column (``resident.phone``), so values cannot be swapped between columns unnoticed.

A blind index is ``HMAC-SHA256(blind_index_key, normalised value)`` in hex: exact-match search
without decrypting. It uses its own key so leaking one key does not give away the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import Settings

FORMAT = "v1"
_NONCE_BYTES = 12


class CryptoError(Exception):
    """A value could not be decrypted (unknown key or tampered ciphertext)."""


def _decode_key(value: str, name: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RuntimeError(f"{name} must be base64") from exc
    if len(key) != 32:
        raise RuntimeError(f"{name} must decode to 32 bytes")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class FieldCipher:
    def __init__(self, current: bytes, previous: Iterable[bytes] = (), index_key: bytes = b"") -> None:
        self._current_id = key_id(current)
        self._keys = {key_id(k): AESGCM(k) for k in (*previous, current)}
        self._index_key = index_key

    def encrypt(self, plaintext: str | None, *, context: str) -> str | None:
        if plaintext is None:
            return None
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self._current_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{FORMAT}.{self._current_id}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, stored: str | None, *, context: str) -> str | None:
        if stored is None:
            return None
        try:
            fmt, kid, body = stored.split(".", 2)
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, binascii.Error) as exc:
            raise CryptoError("not an encrypted value") from exc
        aead = self._keys.get(kid)
        if fmt != FORMAT or aead is None:
            raise CryptoError(f"unknown key {kid!r}")
        try:
            return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()).decode()
        except InvalidTag as exc:
            raise CryptoError("ciphertext does not authenticate") from exc

    def needs_rotation(self, stored: str) -> bool:
        return stored.split(".", 2)[1:2] != [self._current_id]

    def blind_index(self, value: str | None, *, kind: str) -> str | None:
        if value is None:
            return None
        normalised = normalise(value, kind)
        return hmac.new(self._index_key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


def normalise(value: str, kind: str) -> str:
    """Phones: digits only, without a +86/0086 prefix. ID numbers: upper case, no spaces."""
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        for prefix in ("0086", "86"):
            if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
                digits = digits[len(prefix) :]
        return digits
    return re.sub(r"\s", "", value).upper()


@lru_cache(maxsize=8)
def _cipher(current: str, previous: tuple[str, ...], index_key: str) -> FieldCipher:
    if not current or not index_key:
        raise RuntimeError("MINQING_DATA_KEY and MINQING_BLIND_INDEX_KEY must be set to store personal data")
    return FieldCipher(
        _decode_key(current, "data_key"),
        [_decode_key(p, "previous_data_keys") for p in previous],
        _decode_key(index_key, "blind_index_key"),
    )


def cipher_for(settings: Settings) -> FieldCipher:
    return _cipher(
        settings.data_key.get_secret_value(),
        tuple(k.get_secret_value() for k in settings.previous_data_keys),
        settings.blind_index_key.get_secret_value(),
    )
