"""The latest alembic revision shipped with this code, and the one a database is at (for /ready and
`minqing migrate`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_LOCK = 0x6D696E71696E67
"""Key of the session-level advisory lock every migration run holds ("minqing" in ASCII)."""


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database behind ``engine`` is at; raises when it cannot be reached."""
    async with engine.connect() as conn:
        revision: str | None = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
        return revision
