"""Read sessions (autocommit, for GET endpoints) read what is committed and refuse to write."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.grids.models import Area
from tests import world


async def test_a_read_session_reads_but_never_writes(app):
    async with app.state.read_sessionmaker() as session:
        area = (await session.execute(sa.select(Area).where(Area.id == world.AREA["G1"].id))).scalar_one()
        assert area.name == world.AREA["G1"].name
        area.name = "改名"
        with pytest.raises(RuntimeError, match="read session cannot write"):
            await session.flush()
    async with app.state.sessionmaker() as session:
        name = (await session.execute(sa.select(Area.name).where(Area.id == world.AREA["G1"].id))).scalar_one()
        assert name == world.AREA["G1"].name
