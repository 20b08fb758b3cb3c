"""Provider calls run on a private event loop in one background thread.

Providers are async, but nothing stops one from doing blocking work inside a coroutine (loading a
model, a synchronous SDK). Running them on their own loop keeps the UI loop free whatever they do,
and one long-lived loop keeps SDK clients bound to the loop they were made on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ProviderBridge:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="ftui-provider-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Await `fn(*args, **kwargs)` on the provider loop; cancelling the caller cancels it there."""
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(fn(*args, **kwargs)), loop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    async def stream(self, make: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """Iterate an async iterator made and consumed on the provider loop, from the caller's loop."""
        loop = self._ensure_loop()
        here = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(kind: str, value: Any) -> None:
            here.call_soon_threadsafe(queue.put_nowait, (kind, value))

        async def pump() -> None:
            try:
                async for item in make():
                    put("item", item)
            except BaseException as exc:  # handed to the consumer, which re-raises it
                put("error", exc)
            else:
                put("end", None)

        future = asyncio.run_coroutine_threadsafe(pump(), loop)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "item":
                    yield value
                elif kind == "error":
                    if isinstance(value, asyncio.CancelledError):
                        return
                    raise value
                else:
                    return
        finally:
            future.cancel()

    def run_sync(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Block until `awaitable` finishes on the provider loop (for shutdown, off any event loop)."""
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), self._ensure_loop())
        return future.result(timeout)

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
