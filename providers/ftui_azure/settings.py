"""Profile settings for `provider = "azure"` (Azure OpenAI) and `provider = "azureml"` (Azure ML).

Nothing secret lives here: the API key comes from the environment or the keyring, Entra ID tokens
from azure-identity (`az login`, a managed identity, a service principal in the environment).
"""

from __future__ import annotations

import re
from typing import Literal

from ftui_openai.settings import ApiSettings
from pydantic import Field, field_validator

from ftui.provider import ProfileSettings

# Azure's training tiers, as its docs spell them in the job body, and what a user may type.
TRAINING_TYPES = ("Standard", "GlobalStandard", "Developer")
_TRAINING_ALIASES = {
    "standard": "Standard",
    "regional": "Standard",
    "globalstandard": "GlobalStandard",
    "global": "GlobalStandard",
    "developer": "Developer",
    "developertier": "Developer",
}
# ARM deployment skus for fine-tuned models; developertier has no hourly fee and lives 24 h.
DEPLOY_SKUS = ("developertier", "standard", "globalstandard")
_SKU_ALIASES = {
    "developer": "developertier",
    "developertier": "developertier",
    "standard": "standard",
    "globalstandard": "globalstandard",
    "global": "globalstandard",
}


def training_type(value: str) -> str:
    """A training tier in Azure's spelling, from any of the spellings its docs use."""
    key = re.sub(r"[\s_\-]", "", value).lower()
    if key not in _TRAINING_ALIASES:
        raise ValueError(f"training type {value!r} is not one of {', '.join(TRAINING_TYPES)}")
    return _TRAINING_ALIASES[key]


def deploy_sku(value: str) -> str:
    key = re.sub(r"[\s_\-]", "", value).lower()
    if key not in _SKU_ALIASES:
        raise ValueError(f"deployment sku {value!r} is not one of {', '.join(DEPLOY_SKUS)}")
    return _SKU_ALIASES[key]


def resource_endpoint(value: str) -> str:
    """The resource's root URL. A pasted `.../openai/v1/` or `.../openai` is trimmed; a URL with
    `/deployments/` in it is refused, as it would send fine-tuning calls under a deployment."""
    url = value.strip().rstrip("/")
    if not re.match(r"^https?://[^/]+", url):
        raise ValueError(
            f"endpoint must be the resource URL, e.g. https://RESOURCE.openai.azure.com (got {value!r})"
        )
    if "/deployments" in url:
        raise ValueError(
            "endpoint must be the resource URL without /openai/deployments/NAME "
            "(deployments are chosen per chat, not in the profile)"
        )
    return re.sub(r"/openai(/v1)?$", "", url)


class AzureSettings(ApiSettings):
    provider: Literal["azure"] = "azure"
    endpoint: str  # https://RESOURCE.openai.azure.com (or .cognitiveservices / .services.ai.azure.com)
    # Absent or "v1": the v1 API through plain openai.AsyncOpenAI. A dated version (2025-04-01-preview,
    # 2024-10-21) goes through openai.AsyncAzureOpenAI on the /openai/...?api-version= routes.
    api_version: str | None = None
    auth: Literal["api_key", "entra"] = "api_key"
    api_key_env: str = "AZURE_OPENAI_API_KEY"
    # Sent as trainingType with every job; shown, and changeable, in the job form.
    training_type: str = "Standard"
    # The management plane, for deployments (the data-plane key cannot deploy).
    subscription_id: str | None = None
    resource_group: str | None = None
    account: str | None = None  # the Azure OpenAI / AI Services resource name
    management_url: str = "https://management.azure.com"
    deploy_sku: str = "developertier"
    # Seconds to wait for an uploaded file to reach `processed` before a job is created.
    file_processing_timeout: float = Field(default=600.0, gt=0)
    poll_interval: float = Field(default=2.0, gt=0)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return resource_endpoint(value)

    @field_validator("training_type")
    @classmethod
    def _training(cls, value: str) -> str:
        return training_type(value)

    @field_validator("deploy_sku")
    @classmethod
    def _sku(cls, value: str) -> str:
        return deploy_sku(value)

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        return None if value in (None, "", "v1") else value

    @property
    def v1(self) -> bool:
        return self.api_version is None


class AzureMLSettings(ProfileSettings):
    provider: Literal["azureml"] = "azureml"
    subscription_id: str
    resource_group: str
    workspace: str  # an Azure ML workspace or a Foundry hub-based project
    registry: str = "azureml"  # where base models come from (Phi: azureml, Llama: azureml-meta)
    # Where training runs: neither set is serverless (pay as you go); `compute` names a cluster of
    # yours; `instance_type` asks for managed compute of that VM size.
    compute: str | None = None
    instance_type: str | None = None
    instance_count: int = Field(default=1, ge=1, le=64)
    # The fraction split off the training file as validation data when none is given.
    validation_fraction: float = Field(default=0.1, gt=0, lt=1)
    experiment: str = "ftui"
