from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.integrations.webhooks import worker
from tests.integrations.receiver import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
async def http(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with worker.http_client(settings) as client:
        yield client
