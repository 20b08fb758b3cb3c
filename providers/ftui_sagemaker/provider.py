"""SageMakerProvider (calls land with the SageMaker issue)."""

from __future__ import annotations

from typing import ClassVar

from ftui.provider import Provider
from ftui_sagemaker.settings import SageMakerSettings


class SageMakerProvider(Provider[SageMakerSettings]):
    name = "sagemaker"
    description = "AWS SageMaker training jobs with Hugging Face containers"
    built = False
    settings_model = SageMakerSettings
    requires: ClassVar[tuple[str, ...]] = ("boto3",)
    extra = "sagemaker"
