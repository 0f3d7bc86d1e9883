"""The demo loaded once per session into a template (a copy of the migrated, empty template); the
tests that read it get a fresh copy each. Loading itself (migrations on an empty database, the
seed, its idempotency and the logins) is test_demo_load.test_demo_loads_once_and_its_logins_work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.demo.load import seed_demo
from tests.conftest import TEMPLATE_EMPTY, _drop_db, _fresh_db, _recreate, _with_db, make_settings

TEMPLATE_DEMO = "minqing_tpl_demo"


@pytest.fixture(scope="session")
def demo_template(templates: str) -> str:
    async def build() -> bool:
        admin = await asyncpg.connect(templates)
        try:
            await _recreate(admin, TEMPLATE_DEMO, TEMPLATE_EMPTY)
        finally:
            await admin.close()
        url = _with_db(templates, TEMPLATE_DEMO)
        return await seed_demo(url, make_settings(url))

    assert asyncio.run(build()) is True  # loaded into the empty database
    return templates


@pytest.fixture
async def demo_db_url(demo_template: str) -> AsyncIterator[str]:
    """A fresh database holding the demo; dropped afterwards."""
    name = await _fresh_db(demo_template, TEMPLATE_DEMO)
    yield _with_db(demo_template, name)
    await _drop_db(demo_template, name)
