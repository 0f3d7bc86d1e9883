"""Enums whose members carry their Chinese label (中文标签) where they are declared, and the registry
behind ``GET /api/v1/meta/enums`` in which each domain registers its enums.

A member is written ``VALUE_NAME = "value", "标签"``: the value is what the database, the API and the
change feed hold (a plain ``str``, as with :class:`~enum.StrEnum`), the label what people read (the
enum registry of ``GET /api/v1/meta/enums``, the OpenAPI document, exports and pages).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self, TypeVar


class LabelledEnum(StrEnum):
    _value_: str
    label: str

    if TYPE_CHECKING:  # what callers use after the class is built: a lookup by value, ``Status("open")``

        def __new__(cls, value: object) -> Self: ...

    else:

        def __new__(cls, value: str, label: str) -> Self:
            member = str.__new__(cls, value)
            member._value_ = value
            member.label = label
            return member


E = TypeVar("E", bound=LabelledEnum)


def labels(enum: type[E]) -> dict[E, str]:
    """Each member's label, in declaration order."""
    return {member: member.label for member in enum}


S = TypeVar("S", bound=StrEnum)
_REGISTRY: dict[str, tuple[type[StrEnum], Mapping[Any, str]]] = {}


def register(name: str, enum: type[S], labels: Mapping[S, str]) -> None:
    """List ``enum`` under ``name`` in ``GET /api/v1/meta/enums`` and the OpenAPI document."""
    _REGISTRY[name] = (enum, labels)


def all_enums() -> dict[str, list[dict[str, str]]]:
    return {
        name: [{"value": m.value, "label": labels.get(m, m.value)} for m in enum]
        for name, (enum, labels) in sorted(_REGISTRY.items())
    }


def labelled_enums() -> list[tuple[type[StrEnum], Mapping[StrEnum, str]]]:
    """Every registered enum with its labels (the OpenAPI document carries them too)."""
    return list(_REGISTRY.values())
