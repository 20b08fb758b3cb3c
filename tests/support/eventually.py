"""The one way tests wait: poll a condition until it holds, with a deadline that only guards
against a hang (never a speed assertion).

`eventually(probe, until=...)` calls `probe` (sync or async) until `until(value)` is true and returns
that value; `fail(value)` may stop early with an error (say, a job that ended the wrong way).
`eventually_sync` is the same for code outside an event loop (a user's script polling an SDK).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEADLINE_S = 240.0


def _truthy(value: Any) -> bool:
    return bool(value)


async def eventually(
    probe: Callable[[], T | Awaitable[T]],
    until: Callable[[T], bool] = _truthy,
    *,
    fail: Callable[[T], str | None] | None = None,
    timeout: float = DEADLINE_S,
    interval: float = 0.05,
    pause: Callable[[float], Awaitable[Any]] | None = None,
    what: str = "condition",
) -> T:
    """Poll until `until(probe())`; `pause` lets a Textual Pilot drive the app between polls."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    sleep = pause or asyncio.sleep
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if until(value):  # type: ignore[arg-type]
            return value  # type: ignore[return-value]
        if fail is not None and (reason := fail(value)):  # type: ignore[arg-type]
            raise AssertionError(f"{what}: {reason}")
        if loop.time() > end:
            raise AssertionError(f"{what} not met within {timeout:.0f} s; last value: {value!r}"[:2000])
        await sleep(interval)


def eventually_sync(
    probe: Callable[[], T],
    until: Callable[[T], bool] = _truthy,
    *,
    fail: Callable[[T], str | None] | None = None,
    timeout: float = DEADLINE_S,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    end = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return value
        if fail is not None and (reason := fail(value)):
            raise AssertionError(f"{what}: {reason}")
        if time.monotonic() > end:
            raise AssertionError(f"{what} not met within {timeout:.0f} s; last value: {value!r}"[:2000])
        time.sleep(interval)
