"""LocalProvider (filled in by the local-provider issue)."""

from __future__ import annotations

from typing import ClassVar

from ftui.provider import Provider
from ftui_local.settings import LocalSettings


class LocalProvider(Provider):
    name = "local"
    description = "LoRA fine-tuning on this machine (CPU or GPU), offline"
    capabilities = frozenset({"supervised", "dpo", "pause", "checkpoints", "stream", "upload"})
    settings_model = LocalSettings
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers", "peft", "trl")
    extra = "local"
