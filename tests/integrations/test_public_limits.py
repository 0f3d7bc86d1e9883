"""Public entry points (feedback links, Open311) are rate-limited per client address: 429 + Retry-After."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings


@pytest.mark.usefixtures("one_window")
async def test_feedback_links_and_open311_are_rate_limited(db_url):
    app = create_app(make_settings(db_url, rate_limit_public_writes=2, rate_limit_public_reads=3))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            token = "x" * 40
            codes = [
                (
                    await client.post(f"/api/v1/feedback/{token}", json={"rating": "satisfied", "solved": True})
                ).status_code
                for _ in range(3)
            ]
            assert codes[:2] == [404, 404] and codes[2] == 429
            limited = await client.post(f"/api/v1/feedback/{token}", json={"rating": "satisfied", "solved": True})
            assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1

            reads = [await client.get("/open311/v2/services.xml?jurisdiction_id=T01") for _ in range(4)]
            assert [r.status_code for r in reads[:3]] == [200, 200, 200]
            assert reads[3].status_code == 429 and int(reads[3].headers["Retry-After"]) >= 1
            # still Open311's own error format, parseable XML
            root = ET.fromstring(reads[3].content)
            assert root.tag == "errors" and root.find("error/code").text == "429"
