"""/docs in a real headless Chromium that cannot reach the internet: Swagger UI's scripts and styles
come from the service itself, so the page shows the operations on an intranet too."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.stats.test_dashboard_browser import CHROMIUM, Page, service  # noqa: F401 (fixture)
from tests.stats.test_stream import free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"headless Chromium not found at {CHROMIUM}"),
]
websockets = pytest.importorskip("websockets", reason="the websockets package drives Chromium over CDP")

# Every host name fails to resolve except the loopback the service listens on: no CDN, no internet.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture
def offline_chromium() -> Iterator[int]:
    profile = tempfile.mkdtemp(prefix="minqing-chromium-")
    port = free_port()
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-proxy-server",
            OFFLINE,
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(profile, ignore_errors=True)


async def _open(port: int, url: str) -> tuple[Page, object]:
    async with httpx.AsyncClient() as c:
        for _ in range(100):
            try:
                targets = (await c.get(f"http://127.0.0.1:{port}/json/list")).json()
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    target = next(t for t in targets if t["type"] == "page")
    ws = await websockets.connect(target["webSocketDebuggerUrl"], max_size=None)
    page = Page(ws)
    await page.evaluate(f"location.href = {url!r}")
    return page, ws


OPERATIONS = "document.querySelectorAll('.opblock').length"
RESOURCES = "JSON.stringify(performance.getEntriesByType('resource').map(e => e.name))"
# Scripts, styles and data: what the page needs to work (ReDoc's footer also shows Redocly's logo
# from their CDN; it fails quietly without internet).
NEEDED = (
    "JSON.stringify(performance.getEntriesByType('resource')"
    ".filter(e => ['script', 'link', 'css', 'fetch', 'xmlhttprequest'].includes(e.initiatorType)).map(e => e.name))"
)


async def test_swagger_ui_shows_the_operations_without_internet(service, offline_chromium):  # noqa: F811
    page, ws = await _open(offline_chromium, f"{service}/docs")
    try:
        assert await page.wait_for(f"{OPERATIONS} > 100 && {OPERATIONS}")
        text = await page.evaluate("document.body.innerText")
        assert "/api/v1/issues/{issue_id}/actions/dispatch" in text and "派单 (dispatch)" in text
        loaded = json.loads(await page.evaluate(RESOURCES))  # type: ignore[arg-type]
        assert loaded and all(url.startswith(service) for url in loaded), loaded
    finally:
        await ws.close()  # type: ignore[attr-defined]


async def test_redoc_loads_without_internet(service, offline_chromium):  # noqa: F811
    page, ws = await _open(offline_chromium, f"{service}/redoc")
    try:
        assert await page.wait_for("document.body.innerText.includes('派单 (dispatch)')")
        needed = json.loads(await page.evaluate(NEEDED))  # type: ignore[arg-type]
        assert f"{service}/openapi.json" in needed and all(url.startswith(service) for url in needed), needed
    finally:
        await ws.close()  # type: ignore[attr-defined]
