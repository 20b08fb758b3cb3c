"""Azure OpenAI and Azure ML providers (calls land with the Azure issue)."""

from __future__ import annotations

from typing import ClassVar

from ftui.provider import Provider
from ftui_azure.settings import AzureMLSettings, AzureSettings


class AzureOpenAIProvider(Provider[AzureSettings]):
    name = "azure"
    description = "Azure OpenAI fine-tuning (v1 or dated API), ARM deployments"
    built = False
    settings_model = AzureSettings
    requires: ClassVar[tuple[str, ...]] = ("openai", "azure.identity")
    extra = "azure"


class AzureMLProvider(Provider[AzureMLSettings]):
    name = "azureml"
    description = "Azure ML fine-tuning jobs through azure-ai-ml"
    built = False
    settings_model = AzureMLSettings
    requires: ClassVar[tuple[str, ...]] = ("azure.ai.ml", "azure.identity")
    extra = "azure"
