"""The OpenAI provider is tested against `ftui serve` (over the real local provider) on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "serve"))

from support.openai_provider import KEY
from support.serve_harness import Served, serve


@pytest.fixture
def server(local_provider: Any) -> Iterator[Served]:
    with serve(local_provider, api_key=KEY) as served:
        yield served
