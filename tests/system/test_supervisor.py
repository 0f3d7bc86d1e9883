"""``minqing serve --workers N`` as operators run it: a worker that dies is reported in the service's
log along with the one started in its place, and /metrics (whichever worker answers) counts the
live workers' pools only, without a ``pid`` label.

By default one worker is killed; ``MINQING_SLOW=1`` kills one three times in a row. The webhook
worker command logs through the same handler."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import JWT_SECRET
from tests.stats.test_stream import free_port

ROOT = Path(__file__).resolve().parents[2]
SLOW = bool(os.environ.get("MINQING_SLOW"))
ROUNDS = 3 if SLOW else 1
POOL_SIZE = 2
WAIT_SECONDS = 120  # bound on each wait (start-up of a worker on a loaded machine included)

SERVE = ["serve", "--workers", "2", "--no-migrate"]  # `minqing serve …` (the test database is migrated)


class Served:
    """``minqing serve`` in a subprocess, its stdout and stderr in one file."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, base: str) -> None:
        self.proc, self.log, self.base = proc, log, base

    def records(self) -> list[dict]:
        out = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def messages(self, pattern: str) -> list[re.Match[str]]:
        found = (re.fullmatch(pattern, str(r.get("msg", ""))) for r in self.records())
        return [m for m in found if m]

    async def wait_for(self, what: str, check) -> object:  # type: ignore[no-untyped-def]
        for _ in range(WAIT_SECONDS * 5):
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited ({self.proc.returncode}) waiting for {what}:\n{self.tail()}")
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]

    def worker_pids(self) -> list[int]:
        return [int(m.group(1)) for m in self.messages(r"Started server process \[(\d+)\]")]


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        {
            "DATABASE_URL": db_url,
            "MINQING_ENV": "dev",
            "MINQING_JWT_SECRET": JWT_SECRET,
            "MINQING_DATA_KEY": "a" * 43 + "=",
            "MINQING_BLIND_INDEX_KEY": "b" * 43 + "=",
            "MINQING_RUN_WORKER_IN_PROCESS": "false",
            "MINQING_ACCESS_LOG": "false",
            "MINQING_LOG_JSON": "true",
            "MINQING_DB_POOL_SIZE": str(POOL_SIZE),
            "PYTHONPATH": str(ROOT),
        }
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import app; app()", *SERVE, "--port", str(port)],
            cwd=tmp_path,  # its var/ (metrics files) goes there
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Served(proc, log, f"http://127.0.0.1:{port}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
            proc.wait(10)


async def _pool_size(base: str) -> float | None:
    """``minqing_db_pool_size`` as one worker reports it (None if /metrics is not answering)."""
    try:
        async with httpx.AsyncClient(timeout=5) as c:
            text = (await c.get(f"{base}/metrics")).text
    except httpx.HTTPError:
        return None
    lines = [line for line in text.splitlines() if line.startswith("minqing_db_pool")]
    assert lines and not any("pid=" in line for line in lines), lines
    match = re.search(r"^minqing_db_pool_size (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def _all_answers_count_two_pools(base: str) -> bool:
    # Several scrapes, so both workers are likely to answer one: each must see both live pools.
    sizes = [await _pool_size(base) for _ in range(6)]
    return all(size == 2 * POOL_SIZE for size in sizes)


@pytest.mark.slow
async def test_a_killed_worker_is_logged_and_replaced_and_metrics_forget_it(served: Served):
    async def ready() -> bool:
        return len(served.worker_pids()) >= 2 and await _all_answers_count_two_pools(served.base)

    await served.wait_for("two workers", ready)
    assert served.messages(r"Started parent process \[\d+\]"), "the supervisor's own start is logged"

    for round_ in range(ROUNDS):
        known = served.worker_pids()
        victim = known[-1]
        os.kill(victim, signal.SIGKILL)

        async def reported(victim: int = victim) -> bool:
            return any(int(m.group(1)) == victim for m in served.messages(r"Child process \[(\d+)\] died"))

        await served.wait_for(f"the death of worker {victim} in the log", reported)

        async def replaced(known: list[int] = known, expected: int = 2 + round_ + 1) -> bool:
            started = len(served.messages(r"Application startup complete\."))
            return len(served.worker_pids()) > len(known) and started >= expected

        await served.wait_for("a new worker in the log", replaced)
        # The dead worker's pool no longer counts: two live workers, two pools.
        await served.wait_for("metrics of two live pools", lambda: _all_answers_count_two_pools(served.base))
        assert await _all_answers_count_two_pools(served.base)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI configures the process's logging; put it back for the tests that follow."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    others = {name: logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    states = {name: (lg.handlers[:], lg.propagate, lg.disabled) for name, lg in others.items()}
    try:
        yield
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, (handlers, propagate, disabled) in states.items():
            others[name].handlers[:] = handlers
            others[name].propagate, others[name].disabled = propagate, disabled


def test_the_webhook_worker_command_logs_through_the_service_handler(db_url, monkeypatch, restore_logging):
    from typer.testing import CliRunner

    from app import cli
    from app.config import get_settings

    async def deliver(_settings) -> None:  # type: ignore[no-untyped-def]
        logging.getLogger("minqing.webhooks").info("webhook delivered", extra={"delivery_id": "d-1"})

    monkeypatch.setattr(cli, "_run_worker", deliver)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MINQING_LOG_JSON", "true")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert {"logger": "minqing.webhooks", "msg": "webhook delivered", "delivery_id": "d-1"}.items() <= next(
        (r for r in records if r.get("msg") == "webhook delivered"), {}
    ).items(), result.output
