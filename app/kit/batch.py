"""Offline batch uploads (离线批量上传): the first pass every batch route shares.

A phone sends what it wrote while offline, each item with the id it made. Before anything is
written the batch is read whole: too many items is one 422 ``batch_too_large``; an item that does
not validate, or repeats an id of the same batch, gets its own ``invalid`` verdict (with the
``code`` and ``errors`` the single route would give), and the rest go on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.errors import ValidationFailed, field_error, validation_errors

Item = TypeVar("Item", bound=BaseModel)
Verdict = TypeVar("Verdict")
Invalid = Callable[[int, uuid.UUID | None, str, list[dict[str, Any]]], Verdict]
"""Makes an item's ``invalid`` verdict from its index, its id (when one could be read), a code and
the errors."""


def raw_id(raw: Any) -> uuid.UUID | None:
    """The id an item that did not validate claims, when it is a UUID at all."""
    try:
        return uuid.UUID(str(raw.get("id"))) if isinstance(raw, dict) and raw.get("id") else None
    except ValueError:
        return None


def parse(
    items: Sequence[Any], model: type[Item], *, max_items: int, noun: str, invalid: Invalid[Verdict]
) -> tuple[dict[int, Verdict], dict[int, Item]]:
    """Validate every item of a batch: the verdicts of the items refused, and the items that
    passed, both by their index in the batch."""
    if len(items) > max_items:
        raise ValidationFailed(
            f"At most {max_items} {noun} per batch; split the upload.",
            code="batch_too_large",
            errors=[field_error("body", f"at most {max_items} items", max_items=max_items)],
        )
    refused: dict[int, Verdict] = {}
    parsed: dict[int, Item] = {}
    seen: set[uuid.UUID] = set()
    for index, raw in enumerate(items):
        try:
            item = model.model_validate(raw)
        except ValidationError as exc:
            refused[index] = invalid(index, raw_id(raw), "validation_failed", validation_errors(exc, default="item"))
            continue
        item_id = getattr(item, "id")  # noqa: B009 — every batch item carries the id its phone made
        if item_id in seen:
            refused[index] = invalid(index, item_id, "duplicate_id", [field_error("id", "appears twice in the batch")])
            continue
        seen.add(item_id)
        parsed[index] = item
    return refused, parsed
