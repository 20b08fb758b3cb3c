"""Many concurrent requests for one view: computed once per wave, and every answer is computed after
its request arrived (a job created just before a list is in that list)."""

from __future__ import annotations

import asyncio

import pytest

from ftui.serve.fresh import Fresh


async def test_two_hundred_concurrent_gets_cost_at_most_two_computations() -> None:
    runs = 0

    async def compute() -> int:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0)
        return runs

    fresh = Fresh(compute)
    results = await asyncio.gather(*(fresh.get() for _ in range(200)))
    assert runs <= 2 and set(results) <= {1, 2}


async def test_a_get_arriving_during_a_computation_waits_for_the_next_one() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    version = 0

    async def compute() -> int:
        nonlocal version
        version += 1
        seen = version
        started.set()
        await release.wait()
        return seen

    fresh = Fresh(compute)
    first = asyncio.ensure_future(fresh.get())
    await started.wait()
    late = asyncio.ensure_future(fresh.get())  # the view changed after the first computation began
    started.clear()
    release.set()
    assert await first == 1 and await late == 2


async def test_an_error_reaches_every_request_of_its_wave_and_the_next_wave_retries() -> None:
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("backend down")
        return "ok"

    fresh = Fresh(compute)
    outcomes = await asyncio.gather(fresh.get(), fresh.get(), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await fresh.get() == "ok"


async def test_a_request_that_goes_away_does_not_cancel_the_others() -> None:
    release = asyncio.Event()

    async def compute() -> str:
        await release.wait()
        return "view"

    fresh = Fresh(compute)
    leaving, staying = asyncio.ensure_future(fresh.get()), asyncio.ensure_future(fresh.get())
    await asyncio.sleep(0)
    leaving.cancel()
    release.set()
    assert await staying == "view"
    with pytest.raises(asyncio.CancelledError):
        await leaving
