"""Time-ordered identifiers (UUIDv7) so phones can mint ids offline and lists sort by creation."""

import uuid
from collections.abc import Callable
from typing import TypeVar

from uuid_utils.compat import uuid7

from app.errors import Conflict, field_error

Row = TypeVar("Row")


def new_id() -> uuid.UUID:
    return uuid7()


def id_taken() -> Conflict:
    """409 ``id_taken``: the id a client chose already names another row."""
    return Conflict("This id is already taken.", code="id_taken", errors=[field_error("id", "already used")])


def resent(existing: Row | None, same: Callable[[Row], bool]) -> Row | None:
    """The row a client sends again under the id it chose (None: the id is new), when it is the
    ``same`` one (the caller's own, of the same parent); else 409 :func:`id_taken`."""
    if existing is not None and not same(existing):
        raise id_taken()
    return existing
