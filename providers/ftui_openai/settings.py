from __future__ import annotations

from typing import Literal

from ftui.provider import ProfileSettings


class ApiSettings(ProfileSettings):
    """What every OpenAI-shaped data plane needs (OpenAI itself, Azure OpenAI)."""

    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 3


class OpenAISettings(ApiSettings):
    provider: Literal["openai"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    organization: str | None = None
    project: str | None = None
