"""/metrics: a bounded set of time series whatever clients send, and pool gauges that are one
figure for the service (summed over workers), not one per process id."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from app.config import Settings
from tests.conftest import make_settings

LABEL = re.compile(r'^minqing_http_requests_total\{[^}]*route="((?:[^"\\]|\\.)*)"', re.MULTILINE)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url, max_body_bytes=1024)  # so a refused body is small to send


async def _routes(client) -> set[str]:
    return set(LABEL.findall((await client.get("/metrics")).text))


async def test_paths_no_route_took_share_one_label(client):
    await client.get("/nowhere")
    before = await _routes(client)
    statuses: set[int] = set()
    for n in range(100):
        if n % 3 == 0:  # NUL in the path: refused before routing
            r = await client.get(f"/api/v1/issues/x%00{n}")
        elif n % 3 == 1:  # too large: refused before routing
            r = await client.post(f"/api/v1/nowhere-{n}", content=b"x" * 2048)
        else:  # no such route
            r = await client.get(f"/api/v1/nowhere-{n}")
        statuses.add(r.status_code)
    assert statuses == {404, 413, 422}
    after = await _routes(client)
    assert after - before <= {"/metrics"}, sorted(after - before)[:5]
    assert "<unmatched>" in after
    body = (await client.get("/metrics")).text
    for status in (404, 413, 422):
        assert re.search(rf'route="<unmatched>",status="{status}"', body), status


async def test_pool_gauges_are_one_series_kept_current_by_checkouts(app, client):
    body = (await client.get("/metrics")).text
    gauges = [line for line in body.splitlines() if line.startswith("minqing_db_pool_")]
    assert gauges and not any("pid=" in line for line in gauges), gauges

    def in_use() -> float | None:
        return REGISTRY.get_sample_value("minqing_db_pool_checked_out")

    assert REGISTRY.get_sample_value("minqing_db_pool_size") == app.state.engine.pool.size()
    idle = in_use()
    assert idle is not None
    async with app.state.engine.connect() as conn:  # no /metrics call in between: the pool's events
        await conn.execute(sa.text("SELECT 1"))
        assert in_use() == idle + 1
    assert in_use() == idle
