"""Folds the stats delta rows every minute (``stats_compact()``), in one process at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from app.config import Settings
from app.stats import service

log = logging.getLogger("minqing.stats")


def install(app: FastAPI, settings: Settings) -> None:
    if not settings.run_worker_in_process or settings.stats_compact_seconds <= 0:
        return
    state: dict[str, asyncio.Task[None]] = {}

    async def run() -> None:
        while True:
            await asyncio.sleep(settings.stats_compact_seconds)
            try:
                async with app.state.sessionmaker() as session, session.begin():
                    await service.compact(session)
            except Exception as exc:  # the next round retries; sums are right either way
                log.warning("stats compaction failed: %s", exc)

    async def start(_: FastAPI) -> None:
        state["task"] = asyncio.create_task(run(), name="stats-compaction")

    async def stop(_: FastAPI) -> None:
        task = state.pop("task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
