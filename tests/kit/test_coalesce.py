"""Concurrent one-row statements made as one: who waits with whom, what each gets back."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from app.kit.coalesce import coalesced, places, tallies


class Owner:
    """Stands for a connection pool."""


def test_each_item_gets_its_place_in_its_keys_counter():
    keys = ["a", "b", "a", "a"]
    assert tallies(keys) == {"a": 3, "b": 1}
    # counter a moved by 3 to 7, b by 1 to 1
    assert places(keys, {"a": 7, "b": 1}) == [5, 1, 6, 7]


async def test_what_arrives_while_a_batch_is_out_goes_in_the_next_one():
    owner, batches = Owner(), []

    async def double(_owner, items):  # type: ignore[no-untyped-def]
        batches.append(list(items))
        await asyncio.sleep(0.01)
        return [2 * i for i in items]

    doubling = coalesced(owner, "double", double)
    assert await doubling.run(1) == 2  # a lone item goes at once
    first = asyncio.ensure_future(doubling.run(100))
    await asyncio.sleep(0.002)  # its batch is out now
    answers = await asyncio.gather(*(doubling.run(i) for i in range(10)))
    assert answers == [2 * i for i in range(10)] and await first == 200
    assert batches == [[1], [100], list(range(10))]  # the ten that came meanwhile, together


async def test_a_failed_batch_fails_each_of_its_items_and_the_next_one_runs():
    owner, failing = Owner(), True

    async def flaky(_owner, items):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.01)
        if failing:
            raise ConnectionRefusedError("down")
        return items

    runs = coalesced(owner, "flaky", flaky)
    answers = await asyncio.gather(*(runs.run(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(a, ConnectionRefusedError) for a in answers)
    failing = False
    assert await runs.run(7) == 7


async def test_the_registry_does_not_keep_an_owner_alive():
    owner = Owner()

    async def echo(_owner, items):  # type: ignore[no-untyped-def]
        return items

    assert await coalesced(owner, "echo", echo).run(3) == 3
    gone = weakref.ref(owner)
    del owner
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize("n", [1, 3])
async def test_results_follow_the_items_order(n):
    async def reverse_order_answer(_owner, items):  # type: ignore[no-untyped-def]
        return [f"{i}!" for i in items]

    owner = Owner()
    got = await asyncio.gather(*(coalesced(owner, "o", reverse_order_answer).run(i) for i in range(n)))
    assert got == [f"{i}!" for i in range(n)]
