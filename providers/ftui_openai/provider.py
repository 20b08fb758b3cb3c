"""OpenAIProvider (filled in by the serve/OpenAI issue)."""

from __future__ import annotations

from typing import ClassVar

from ftui.provider import Provider
from ftui_openai.settings import OpenAISettings


class OpenAIProvider(Provider):
    name = "openai"
    description = "OpenAI fine-tuning API, or any compatible endpoint (ftui serve, Azure v1)"
    capabilities = frozenset({"supervised", "dpo", "reinforcement", "pause", "checkpoints", "stream",
                              "upload"})
    settings_model = OpenAISettings
    requires: ClassVar[tuple[str, ...]] = ("openai",)
    extra = "openai"
