"""Rows handed to a statement as one bound array per column: ``unnest(:a, :b, …) AS name(a, b, …)``.

A statement built on them is compiled once and takes any number of rows, where a multi-row
``VALUES`` (or literal ``VALUES`` data) is compiled anew by SQLAlchemy for every call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine


def array_rows(
    name: str,
    columns: Mapping[str, TypeEngine[Any] | sa.ColumnElement[Any]],
    *,
    prefix: str = "",
    values: Mapping[str, Sequence[Any]] | None = None,
) -> sa.TableValuedAlias:
    """The derived table ``name`` with ``columns`` (name → type, or a column whose type to take),
    each read from the bound array ``prefix + name``. ``values`` (by column) binds arrays now;
    the others are given when the statement runs, as lists."""

    def array(column: str, kind: TypeEngine[Any] | sa.ColumnElement[Any]) -> sa.BindParameter[Any]:
        of = ARRAY(kind.type if isinstance(kind, sa.ColumnElement) else kind)
        if values is not None and column in values:
            return sa.bindparam(prefix + column, list(values[column]), type_=of)
        return sa.bindparam(prefix + column, type_=of)

    arrays = [array(column, kind) for column, kind in columns.items()]
    return sa.func.unnest(*arrays).table_valued(*columns).render_derived(name=name)
