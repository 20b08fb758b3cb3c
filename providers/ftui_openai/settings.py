from __future__ import annotations

from typing import Literal

from ftui.provider import ProfileSettings


class OpenAISettings(ProfileSettings):
    provider: Literal["openai"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    organization: str | None = None
    project: str | None = None
    timeout: float = 60.0
    max_retries: int = 3
