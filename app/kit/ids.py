"""Time-ordered identifiers (UUIDv7) so phones can mint ids offline and lists sort by creation."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()
