"""SageMakerProvider (calls land with the SageMaker issue)."""

from __future__ import annotations

from typing import ClassVar

from ftui.provider import Provider
from ftui_sagemaker.settings import SageMakerSettings


class SageMakerProvider(Provider):
    name = "sagemaker"
    description = "AWS SageMaker training jobs with Hugging Face containers"
    capabilities = frozenset({"supervised", "dpo", "checkpoints", "deploy", "upload"})
    settings_model = SageMakerSettings
    requires: ClassVar[tuple[str, ...]] = ("boto3",)
    extra = "sagemaker"
