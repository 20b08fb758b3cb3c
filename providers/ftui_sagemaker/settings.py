"""A `provider = "sagemaker"` profile. Credentials come from boto3's own chain (environment, the
`aws_profile` named here, SSO, instance roles): nothing secret belongs in the TOML."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ftui.provider import ProfileSettings

SERVICES = ("s3", "sagemaker", "sagemaker-runtime", "logs", "cloudwatch")
MAX_RUNTIME_HOURS = 28 * 24  # SageMaker's ceiling for MaxRuntimeInSeconds


class SageMakerSettings(ProfileSettings):
    provider: Literal["sagemaker"] = "sagemaker"
    region: str = "us-east-1"
    role_arn: str | None = None  # the execution role jobs and endpoints run as (S3, Logs, ECR pull)
    bucket: str | None = None
    prefix: str = "ftui"  # every key ftui writes lives under s3://bucket/prefix/
    base_model: str | None = None  # the default for new jobs: a catalog name, a local folder, s3://...
    instance_type: str = "ml.g5.2xlarge"
    instance_count: int = Field(default=1, ge=1, le=64)
    volume_size_gb: int = Field(default=100, ge=1, le=16384)
    max_runtime_hours: float = Field(default=24.0, gt=0, le=MAX_RUNTIME_HOURS)
    spot: bool = False  # managed spot training: cheaper, may wait for capacity and be interrupted
    max_wait_hours: float | None = Field(default=None, gt=0)  # spot only; default twice max_runtime_hours
    training_image: str | None = None  # default: the Hugging Face PyTorch training DLC of the region
    serving: Literal["tgi", "vllm"] = "tgi"
    serving_image: str | None = None  # default: the TGI (or vLLM) DLC of the region
    endpoint_instance_type: str = "ml.g5.2xlarge"  # what `deploy` uses when not told
    merge_adapter: bool = True  # write the merged model (TGI and vLLM serve it); false: the adapter only
    aws_profile: str | None = None
    endpoint_url: str | None = None  # every service at one URL: an emulator
    endpoint_urls: dict[str, str] = Field(default_factory=dict)  # per service: VPC endpoints
    max_attempts: int = Field(default=5, ge=1, le=20)  # boto3's retries, first try included
    price_per_hour: float | None = Field(default=None, gt=0)  # your own instance-hour price, if negotiated

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.strip("/")
        if not v or not re.fullmatch(r"[A-Za-z0-9!_.*'()/-]+", v):
            raise ValueError(
                "prefix must be a non-empty S3 key prefix (letters, digits, / - _ . and the like)"
            )
        return v

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", v):
            raise ValueError(
                "bucket must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)"
            )
        return v

    @field_validator("role_arn")
    @classmethod
    def _role(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/.+", v):
            raise ValueError("role_arn must be an IAM role ARN: arn:aws:iam::123456789012:role/NAME")
        return v

    @field_validator("instance_type", "endpoint_instance_type")
    @classmethod
    def _instance(cls, v: str) -> str:
        if not re.fullmatch(r"ml\.[a-z0-9]+\.[a-z0-9]+", v):
            raise ValueError("instance types look like ml.g5.2xlarge")
        return v

    @field_validator("endpoint_urls")
    @classmethod
    def _services(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(SERVICES))
        if unknown:
            raise ValueError(f"unknown service {', '.join(unknown)}; known: {', '.join(SERVICES)}")
        return v

    @field_validator("max_wait_hours")
    @classmethod
    def _spot(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None:
            if not info.data.get("spot"):
                raise ValueError("max_wait_hours applies to spot training only: set spot = true or remove it")
            runtime = info.data.get("max_runtime_hours")
            if runtime is not None and v < runtime:
                raise ValueError(
                    f"max_wait_hours ({v:g}) must be at least max_runtime_hours ({runtime:g}): "
                    "the wait includes the run"
                )
        return v

    @property
    def wait_hours(self) -> float | None:
        """MaxWaitTimeInSeconds in hours, spot only (SageMaker caps it at 28 days too)."""
        if not self.spot:
            return None
        return min(self.max_wait_hours or 2 * self.max_runtime_hours, MAX_RUNTIME_HOURS)

    def endpoint_for(self, service: str) -> str | None:
        return self.endpoint_urls.get(service) or self.endpoint_url
