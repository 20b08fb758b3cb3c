"""Many requests for the same expensive view (every job, for a list), computed once per wave.

A request that arrives while the view is being computed waits for the next computation, which
starts as soon as the current one ends and answers every request that arrived meanwhile. So each
answer is computed after its request arrived (a job created just before a list is in it), there is
never more than one computation at a time, and 200 concurrent lists cost two computations, not 200.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Fresh(Generic[T]):
    def __init__(self, compute: Callable[[], Awaitable[T]]) -> None:
        self._compute = compute
        self._next: asyncio.Future[T] | None = None  # what the requests waiting for a fresh run get
        self._runner: asyncio.Task[None] | None = None

    async def get(self) -> T:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        wave = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run())
        # A request that goes away leaves the computation to the others.
        return await asyncio.shield(wave)

    async def _run(self) -> None:
        while self._next is not None:
            wave, self._next = self._next, None
            try:
                wave.set_result(await self._compute())
            except BaseException as exc:  # every request of this wave gets the error
                wave.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            if not wave.done():  # pragma: no cover - set above
                wave.cancel()
