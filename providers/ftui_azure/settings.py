from __future__ import annotations

from typing import Literal

from ftui.provider import ProfileSettings


class AzureSettings(ProfileSettings):
    provider: Literal["azure"] = "azure"
    endpoint: str  # https://RESOURCE.openai.azure.com (any URL in tests)
    api_version: str | None = None  # absent: the v1 API
    auth: Literal["api_key", "entra"] = "api_key"
    api_key_env: str = "AZURE_OPENAI_API_KEY"
    training_type: Literal["standard", "globalstandard", "developer"] | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    account: str | None = None


class AzureMLSettings(ProfileSettings):
    provider: Literal["azureml"] = "azureml"
    subscription_id: str
    resource_group: str
    workspace: str
    registry: str | None = None
