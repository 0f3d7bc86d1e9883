"""Column types PostgreSQL has and SQLAlchemy does not name: declared by the name the database spells."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from sqlalchemy.types import UserDefinedType

T = TypeVar("T")


class PgType(UserDefinedType[T]):
    """A PostgreSQL type used by its name only (``LTREE``, ``XID8``); values travel as text."""

    cache_ok = True
    col_spec: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # SQLAlchemy reads ``cache_ok`` from each class's own namespace, not from a base: without it
        # every statement naming such a column would be compiled anew (and warn).
        super().__init_subclass__(**kwargs)
        cls.cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return self.col_spec
