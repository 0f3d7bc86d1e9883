"""Every column type of the models lets SQLAlchemy cache the statements that name it."""

from __future__ import annotations

import warnings

from sqlalchemy.types import TypeDecorator, UserDefinedType

from app.db import Base
from app.models import load_all_models


def test_every_custom_column_type_is_cacheable():
    load_all_models()
    custom = {
        (table.name, column.name): column.type
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, UserDefinedType | TypeDecorator)
    }
    assert ("areas", "path") in custom and ("change_log", "txid") in custom
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for where, kind in custom.items():
            assert kind._static_cache_key is not None, where  # NO_CACHE (with a warning) otherwise
