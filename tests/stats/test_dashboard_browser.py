"""The wall screen in a real headless Chromium against a real server: the numbers on the page are
the API's, and a new issue shows up through the event stream without a reload."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import JWT_SECRET, auth, token_for
from tests.issues.helpers import act, create
from tests.stats.conftest import Clock
from tests.stats.test_stream import free_port
from tests.world import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"headless Chromium not found at {CHROMIUM}"),
]
websockets = pytest.importorskip("websockets", reason="the websockets package drives Chromium over CDP")


@pytest.fixture
def service(db_url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MINQING_ENV": "test",
        "MINQING_JWT_SECRET": JWT_SECRET,
        "MINQING_DATA_KEY": "a" * 43 + "=",
        "MINQING_BLIND_INDEX_KEY": "b" * 43 + "=",
        "MINQING_RUN_WORKER_IN_PROCESS": "false",
        "MINQING_ACCESS_LOG": "false",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("the service did not start")
            import time

            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


class NotEvaluated(Exception):
    """DevTools answered an evaluation with an error (e.g. the page is between two documents)."""


class Page:
    """One Chromium tab over the DevTools protocol."""

    def __init__(self, ws: object) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def evaluate(self, expression: str) -> object:
        call_id = next(self.ids)
        await self.ws.send(  # type: ignore[attr-defined]
            json.dumps(
                {
                    "id": call_id,
                    "method": "Runtime.evaluate",
                    "params": {"expression": expression, "returnByValue": True},
                }
            )
        )
        while True:
            message = json.loads(await self.ws.recv())  # type: ignore[attr-defined]
            if message.get("id") == call_id:
                if "error" in message:
                    raise NotEvaluated(message["error"])
                return message["result"]["result"].get("value")

    async def wait_for(self, expression: str, within: float = 20) -> object:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            try:
                value = await self.evaluate(expression)
            except NotEvaluated:  # still loading (its execution context replaced): ask again
                value = None
            if value:
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expression}")


@pytest.fixture
def chromium() -> Iterator[int]:
    """A headless Chromium with its DevTools port."""
    profile = tempfile.mkdtemp(prefix="minqing-chromium-")
    port = free_port()
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
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


@pytest.fixture
async def page_at(service: str, chromium: int) -> AsyncIterator[object]:
    port = chromium
    sockets = []

    async def open_page(url: str) -> Page:
        async with httpx.AsyncClient() as c:
            for _ in range(100):
                try:
                    targets = (await c.get(f"http://127.0.0.1:{port}/json/list")).json()
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            target = next(t for t in targets if t["type"] == "page")
        ws = await websockets.connect(target["webSocketDebuggerUrl"], max_size=None)
        sockets.append(ws)
        page = Page(ws)
        await page.evaluate(f"location.href = {json.dumps(url)}")
        return page

    try:
        yield open_page
    finally:
        for ws in sockets:
            await ws.close()


async def test_the_wall_screen_shows_the_api_numbers_and_updates_live(client, service, page_at):
    for n in range(3):
        issue = await create(client)
        if n:
            await act(client, issue, "accept", "grid_worker")

    page = await page_at(f"{service}/dashboard#token={token_for('viewer')}")
    await page.wait_for("document.body.dataset.loaded")

    async with httpx.AsyncClient(base_url=service) as api:
        overview = (await api.get("/api/v1/stats/overview", headers=auth("viewer"))).json()
        ranking = (
            await api.get(
                f"/api/v1/stats/areas?from={overview['from']}&to={overview['to']}&parent_id={overview['area']['id']}"
                "&sort=satisfaction_rate",
                headers=auth("viewer"),
            )
        ).json()

    def shown(rate: dict) -> str:
        return "" if rate["value"] is None else str(rate["value"])

    on_page = await page.evaluate(
        "JSON.stringify(Object.fromEntries(['response-rate','satisfaction-rate','resolution-rate','overdue-now','total']"
        ".map(id => [id, document.getElementById(id).dataset.value])))"
    )
    values = json.loads(on_page)  # type: ignore[arg-type]
    assert values["response-rate"] == shown(overview["rates"]["response_rate"])
    assert values["satisfaction-rate"] == shown(overview["rates"]["satisfaction_rate"])
    assert values["resolution-rate"] == shown(overview["rates"]["resolution_rate"])
    assert values["overdue-now"] == str(overview["issues"]["overdue_now"])
    assert values["total"] == str(overview["issues"]["total"]) == "3"
    rows = json.loads(
        await page.evaluate(  # type: ignore[arg-type]
            "JSON.stringify([...document.querySelectorAll('#ranking tr')]"
            ".map(tr => [tr.dataset.area, tr.children[2].textContent]))"
        )
    )
    assert rows == [[row["area"]["id"], str(row["issues"]["total"])] for row in ranking["items"]]

    await page.wait_for("document.getElementById('live').className === 'live on'")
    await create(client)  # through the API: the page hears it on the stream and refreshes
    await page.wait_for("document.getElementById('total').dataset.value === '4'")


async def sign_in(page: Page, username: str) -> None:
    await page.wait_for("!document.getElementById('login').hidden")
    await page.evaluate(
        f"document.querySelector('[name=username]').value = {json.dumps(username)};"
        f"document.querySelector('[name=password]').value = {json.dumps(PASSWORD)};"
        "document.getElementById('login-form').requestSubmit()"
    )


async def test_a_viewer_signed_in_sees_every_overdue_issue_it_counts(client, service, page_at, fake_clock: Clock):
    # Filed three weeks ago and never answered: overdue now, for the service running on the real clock.
    fake_clock.current = dt.datetime.now(dt.UTC) - dt.timedelta(days=21)
    overdue = [
        await create(client),
        await create(client, user="grid_worker_g3", location={"lat": 34.05, "lng": 108.15}),
    ]
    fake_clock.current = dt.datetime.now(dt.UTC)
    await create(client)  # on time

    page = await page_at(f"{service}/dashboard")
    await sign_in(page, "viewer")
    await page.wait_for("document.body.dataset.loaded")
    shown = json.loads(
        await page.evaluate(  # type: ignore[arg-type]
            "JSON.stringify({count: document.getElementById('overdue-now').dataset.value,"
            " rows: [...document.querySelectorAll('#overdue tr')]"
            ".map(tr => [...tr.children].map(td => td.textContent)),"
            " problem: document.getElementById('problem').hidden})"
        )
    )
    assert shown["problem"] is True  # no error banner
    assert shown["count"] == str(len(shown["rows"])) == "2"
    assert {row[0] for row in shown["rows"]} == {issue["number"] for issue in overdue}
    assert {row[2] for row in shown["rows"]} == {"第一网格", "邻居网格"}
    assert not any("路灯" in cell or "周贵领" in cell for row in shown["rows"] for cell in row)


async def test_a_refused_fetch_shows_the_problem_instead_of_empty_figures(service, page_at):
    page = await page_at(f"{service}/dashboard")
    await sign_in(page, "department")  # signs in, but may not read stats
    await page.wait_for("!document.getElementById('problem').hidden")
    banner = json.loads(
        await page.evaluate(  # type: ignore[arg-type]
            "JSON.stringify({code: document.getElementById('problem').dataset.code,"
            " text: document.getElementById('problem').textContent})"
        )
    )
    assert banner["code"] == "role_not_allowed"
    assert "role_not_allowed" in banner["text"] and "/stats/overview" in banner["text"]
