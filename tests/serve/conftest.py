"""Fixtures for `ftui serve` tests: the real local provider, cleaned up after each test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest


@pytest.fixture
def local_provider() -> Iterator[object]:
    from ftui_local.provider import LocalProvider
    from ftui_local.settings import LocalSettings

    provider = LocalProvider(LocalSettings(device="cpu"), profile="test")
    yield provider
    # Never leave a training worker behind: cancel whatever is still going.
    jobs = asyncio.run(provider.jobs(limit=1000))
    for job in jobs:
        if not job.done:
            with contextlib.suppress(Exception):
                asyncio.run(provider.cancel(job.id))
