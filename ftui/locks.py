"""Exclusive locks between processes (and between tasks of one process), held on a lock file.

Check-then-act on shared state (is this content uploaded yet? is this job still queued?) happens
under one of these, so two ftui processes, or two tasks of one, never both act.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from ftui.paths import data_dir


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing). Each holder opens the file itself: flock
    locks belong to the open file, so two opens in one process exclude each other too."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@asynccontextmanager
async def async_file_lock(path: Path) -> AsyncIterator[None]:
    """`file_lock` for async code: the wait happens in a thread, never on the event loop."""
    fh = open(path, "a")  # noqa: SIM115 - closed below, once the lock is released
    try:
        await asyncio.to_thread(fcntl.flock, fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    finally:
        fh.close()


def named_lock_path(*parts: str) -> Path:
    """A lock file for a name made of any text (a profile, a content hash), under the data dir."""
    folder = data_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32] + ".lock")
