"""What every route module shares: the provider it serves, the server's own state, and the
requests doing long work (replies being generated), which a stopping server ends first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ftui.provider import Provider
from ftui.serve.state import ServeState


@dataclass
class ServeContext:
    provider: Provider[Any]
    state: ServeState
    organization: str = "local"
    # OpenAI fails a job whose training file has fewer examples than this.
    min_examples: int = 10
    stopping: bool = False
    # (when listed, ids): the provider's base models, which clients may name (see models.exposed).
    base_model_ids: tuple[float, frozenset[str]] | None = None
    # Requests doing long work (generating a reply): cancelled when the server stops.
    _working: set[asyncio.Task[Any]] = field(default_factory=set)

    @contextmanager
    def working(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._working.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._working.discard(task)

    def stop_work(self) -> None:
        """The server was asked to stop (SIGTERM, Ctrl-C): end long requests now, so shutdown
        does not wait for a reply that may take minutes. Runs on the server's loop."""
        self.stopping = True
        for task in list(self._working):
            task.cancel()
