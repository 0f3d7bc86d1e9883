"""Partial updates (PATCH): the one check every domain makes of the fields a client sends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.errors import ValidationFailed, field_error


def not_null(changes: Mapping[str, Any], keys: Iterable[str]) -> None:
    """422 when the changes set one of ``keys`` (fields that cannot be cleared) to null."""
    for key in keys:
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key} cannot be null.", errors=[field_error(key, "must not be null")])
