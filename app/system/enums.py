"""The registry behind GET /api/v1/meta/enums: each domain registers its enums and labels."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

E = TypeVar("E", bound=StrEnum)
_REGISTRY: dict[str, tuple[type[StrEnum], Mapping[Any, str]]] = {}


def register(name: str, enum: type[E], labels: Mapping[E, str]) -> None:
    _REGISTRY[name] = (enum, labels)


def all_enums() -> dict[str, list[dict[str, str]]]:
    return {
        name: [{"value": m.value, "label": labels.get(m, m.value)} for m in enum]
        for name, (enum, labels) in sorted(_REGISTRY.items())
    }


def labelled_enums() -> list[tuple[type[StrEnum], Mapping[StrEnum, str]]]:
    """Every registered enum with its labels (the OpenAPI document carries them too)."""
    return list(_REGISTRY.values())
