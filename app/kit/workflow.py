"""The small workflows as data: for each action, the states it is taken in and the state it leads to.

A table maps an action to ``(sources, target)``; a ``None`` target leaves the state as it is (an
action recorded against the object, like an edit or a vote). The commitment lists, the proposals,
the wishes, the time bank and the service records each keep one such table next to their states;
the issue workflow, with roles per transition, keeps its own (app/issues/workflow.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeAlias, TypeVar

from app.errors import Conflict

A = TypeVar("A", bound=StrEnum)
S = TypeVar("S", bound=StrEnum)

Table: TypeAlias = Mapping[A, tuple[frozenset[S], S | None]]


def table(steps: Mapping[A, tuple[Iterable[S], S | None]]) -> dict[A, tuple[frozenset[S], S | None]]:
    """A table from ``{action: (sources, target)}``, the sources as any iterable."""
    return {action: (frozenset(sources), target) for action, (sources, target) in steps.items()}


def allowed(steps: Table[A, S], status: S) -> list[A]:
    """The actions taken in ``status``, in the table's order."""
    return [action for action, (sources, _) in steps.items() if status in sources]


def advance(steps: Table[A, S], status: S, action: A, thing: str) -> S:
    """The state after ``action``: 409 ``invalid_transition``, with the ``allowed_actions``, when
    ``status`` does not take it."""
    sources, target = steps[action]
    if status not in sources:
        raise Conflict(
            f"A {thing} that is {status} does not take {action}.",
            code="invalid_transition",
            allowed_actions=[a.value for a in allowed(steps, status)],
        )
    return status if target is None else target
