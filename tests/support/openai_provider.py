"""The OpenAI provider pointed at a test server: its key, the variable it is read from, a maker."""

from __future__ import annotations

from typing import Any

import pytest

KEY_ENV = "FTUI_TEST_OPENAI_KEY"
KEY = "sk-test-0123456789"


def make_provider(base_url: str, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Any:
    from ftui_openai.provider import OpenAIProvider
    from ftui_openai.settings import OpenAISettings

    monkeypatch.setenv(KEY_ENV, KEY)
    settings.setdefault("max_retries", 2)
    return OpenAIProvider(
        OpenAISettings(base_url=base_url, api_key_env=KEY_ENV, **settings), profile="remote"
    )
