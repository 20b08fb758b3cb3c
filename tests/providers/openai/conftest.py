"""The OpenAI provider is tested against `ftui serve` (over the real local provider) on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "serve"))

from support.serve_harness import Served, serve

KEY_ENV = "FTUI_TEST_OPENAI_KEY"
KEY = "sk-test-0123456789"


@pytest.fixture
def server(local_provider: Any) -> Iterator[Served]:
    with serve(local_provider, api_key=KEY) as served:
        yield served


def make_provider(base_url: str, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Any:
    from ftui_openai.provider import OpenAIProvider
    from ftui_openai.settings import OpenAISettings

    monkeypatch.setenv(KEY_ENV, KEY)
    settings.setdefault("max_retries", 2)
    return OpenAIProvider(
        OpenAISettings(base_url=base_url, api_key_env=KEY_ENV, **settings), profile="remote"
    )
