"""Concurrent one-row statements of a process made as one: while a statement is on its way, the
requests that arrive meanwhile wait and go together in the next one.

For the statements nearly every request makes on its own connection (the rate limits' hits, the
caller's account): with 32 requests in flight a process sends one round trip where it sent 32,
and PostgreSQL runs one statement. Nothing waits for a timer — a lone request goes at once — so a
quiet service answers as before, and a busy one does less work per request::

    accounts = coalesced(pool, "callers", read_accounts)   # read_accounts(pool, user_ids): one row per id, in order
    row = await accounts.run(user_id)

The batch function gets the waiting items in arrival order and returns one result per item; when
it fails, every item of its batch fails with the same error (cancelled with it when cancelled).
A :class:`Coalesced` belongs to the event loop that made it (see :func:`coalesced`).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)


class Coalesced(Generic[T, R]):
    def __init__(self, owner: Any, batch: Callable[[Any, list[T]], Awaitable[Sequence[R]]]) -> None:
        self.owner = weakref.ref(owner)  # not kept alive by its own batches (see :func:`coalesced`)
        self.batch = batch
        self.loop = asyncio.get_running_loop()
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.running = False

    async def run(self, item: T) -> R:
        """``item``'s result, from the next batch."""
        future: asyncio.Future[R] = self.loop.create_future()
        self.waiting.append((item, future))
        if not self.running:
            self.running = True
            _RUNNING.add(self.loop.create_task(self._drain()))
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                taken, self.waiting = self.waiting, []
                await self._answer(taken)
        finally:
            self.running = False
            _RUNNING.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _answer(self, taken: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            owner = self.owner()
            if owner is None:
                raise RuntimeError("the owner of these statements has been closed")
            results = await self.batch(owner, [item for item, _ in taken])
        except BaseException as exc:
            for _, future in taken:
                if future.done():  # its request has gone
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(taken, results, strict=True):
            if not future.done():
                future.set_result(result)


_RUNNING: set[asyncio.Task[None]] = set()  # the batches on their way, kept from the garbage collector
_MADE: weakref.WeakKeyDictionary[Any, dict[str, Coalesced[Any, Any]]] = weakref.WeakKeyDictionary()


def coalesced(owner: Any, name: str, batch: Callable[[Any, list[T]], Awaitable[Sequence[R]]]) -> Coalesced[T, R]:
    """The :class:`Coalesced` ``name`` of ``owner`` (e.g. a connection pool) in this event loop,
    made on first use; ``batch(owner, items)`` makes each batch's statement. (The owner is passed
    in rather than held by the batch function: held, it would keep itself alive in this registry.)"""
    made = _MADE.setdefault(owner, {})
    found = made.get(name)
    if found is None or found.loop is not asyncio.get_running_loop():
        found = made[name] = Coalesced(owner, batch)
    found.batch = batch  # the caller's, should it have been replaced (a test's counting wrapper)
    return found


def tallies(keys: Sequence[K]) -> dict[K, int]:
    """How many times each key occurs in ``keys`` (a batch's counters to move, by how much)."""
    counts: dict[K, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return counts


def places(keys: Sequence[K], totals: dict[K, int]) -> list[int]:
    """Each item's place in its key's counter, once the batch moved every counter by its
    :func:`tallies` to ``totals``: the items of a key get the last values up to its total, in
    the order they came (a counter at 7 moved by 3 gives 5, 6, 7)."""
    counts = tallies(keys)
    seen: dict[K, int] = {}
    placed = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        placed.append(totals[key] - counts[key] + seen[key])
    return placed
