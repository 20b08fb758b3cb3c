from __future__ import annotations

from typing import Literal

from ftui.provider import ProfileSettings


class SageMakerSettings(ProfileSettings):
    provider: Literal["sagemaker"] = "sagemaker"
    region: str = "us-east-1"
    role_arn: str | None = None
    bucket: str | None = None
    prefix: str = "ftui"
    instance_type: str = "ml.g5.2xlarge"
    aws_profile: str | None = None
    endpoint_url: str | None = None  # VPC endpoints, local emulators in tests
