"""`backend`: each provider with a test backend in turn (see backends.py to add one)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .backends import BACKENDS, Backend


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    with BACKENDS[request.param](request) as found:
        yield found
        await found.provider.aclose()  # on the test's loop, which its clients are bound to
