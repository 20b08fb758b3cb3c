"""The common domain model every provider maps its backend's objects into.

Names follow OpenAI's fine-tuning API where it has one: users already think in them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ftui.status import ACTIVE_STATUSES as ACTIVE_STATUSES
from ftui.status import TERMINAL_STATUSES as TERMINAL_STATUSES

JobStatus = Literal["validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled"]
Method = Literal["supervised", "dpo", "reinforcement"]
Auto = Literal["auto"]


def now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hyperparameters(_Model):
    """Bounds live in `ftui.hyperparameters` (one table for the CLI, the API and the TUI)."""

    n_epochs: int | Auto = "auto"
    batch_size: int | Auto = "auto"
    learning_rate_multiplier: float | Auto = "auto"
    beta: float | Auto | None = None  # dpo
    # Provider-specific knobs (e.g. lora_r, lora_alpha for the local trainer); which names and
    # values a provider takes is checked against its `extra_hyperparameters`.
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("n_epochs", "batch_size", "learning_rate_multiplier", "beta", mode="before")
    @classmethod
    def _in_bounds(cls, value: Any, info: Any) -> Any:
        from ftui.hyperparameters import BY_METHOD

        if value is None and info.field_name == "beta":
            return None
        return BY_METHOD["dpo"][info.field_name].check(info.field_name, value)

    @field_validator("extra")
    @classmethod
    def _finite_extra(cls, value: dict[str, Any]) -> dict[str, Any]:
        from ftui.hyperparameters import finite

        return finite(value)


class JobSpec(_Model):
    base_model: str
    training_file: str  # a local path or a provider file id
    validation_file: str | None = None
    method: Method = "supervised"
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    suffix: str | None = Field(default=None, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2147483647)
    metadata: dict[str, str] = Field(default_factory=dict)
    integrations: list[dict[str, Any]] = Field(default_factory=list)
    grader: dict[str, Any] | None = None  # reinforcement: an OpenAI grader object
    # Start from an existing adapter ("train longer" is a new job, not a resume).
    init_from: str | None = None


class JobError(_Model):
    code: str
    message: str
    param: str | None = None


class Job(_Model):
    id: str
    provider: str
    status: JobStatus
    base_model: str
    method: Method = "supervised"
    fine_tuned_model: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    trained_tokens: int | None = None
    error: JobError | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    training_file: str | None = None
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = None
    result_files: list[str] = Field(default_factory=list)
    progress: float | None = None  # 0..1 where the backend knows
    estimated_finish: datetime | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    raw: dict[str, Any] = Field(default_factory=dict)  # the backend's own object, for the detail view

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES


class MetricPoint(_Model):
    step: int
    total_steps: int | None = None
    epoch: float | None = None
    train_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None
    learning_rate: float | None = None
    tokens_per_second: float | None = None
    extra: dict[str, float] = Field(default_factory=dict)  # e.g. dpo rewards, grader scores

    # A diverged step logs NaN: shown as no value, never written out as NaN or Infinity (strict
    # JSON parsers reject both).
    @field_validator("*", mode="before")
    @classmethod
    def _no_nan(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if not (isinstance(v, float) and not math.isfinite(v))}
        return value


class JobEvent(_Model):
    id: str
    created_at: datetime
    level: Literal["info", "warn", "error"] = "info"
    message: str
    type: Literal["message", "metrics"] = "message"
    metrics: MetricPoint | None = None


class Checkpoint(_Model):
    id: str
    job_id: str
    step: int
    created_at: datetime
    fine_tuned_model_checkpoint: str  # a model name chat() accepts
    metrics: MetricPoint | None = None


class RemoteFile(_Model):
    id: str
    provider: str
    filename: str
    bytes: int
    purpose: str = "fine-tune"
    created_at: datetime
    status: str = "processed"
    sha256: str | None = None


class BaseModelInfo(_Model):
    id: str
    provider: str
    description: str = ""
    methods: list[Method] = Field(default_factory=lambda: ["supervised"])
    context_length: int | None = None
    training_price_per_1m_tokens: float | None = None  # USD
    fine_tuned: bool = False


class Deployment(_Model):
    id: str
    model: str
    status: str
    endpoint: str | None = None


class ChatMessage(_Model):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str


SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # OpenAI's chat seed: a signed 64-bit integer


class ChatParams(_Model):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    # The provider caps it to what the model's context leaves after the prompt.
    max_tokens: int = Field(default=256, ge=1)
    stop: list[str] = Field(default_factory=list, max_length=4)
    seed: int | None = Field(default=None, ge=SEED_MIN, le=SEED_MAX)


class Usage(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0


# Backend status words mapped to ours. Unknown words map to "running" only for live jobs:
# callers pass `default` to say what an unknown word means.
SAGEMAKER_STATUS: dict[str, JobStatus] = {
    "InProgress": "running",
    "Completed": "succeeded",
    "Failed": "failed",
    "Stopping": "running",
    "Stopped": "cancelled",
}
AZURE_STATUS: dict[str, JobStatus] = {
    "pending": "queued",
    "notRunning": "queued",
    "queued": "queued",
    "validating_files": "validating_files",
    "running": "running",
    "paused": "paused",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    # Azure ML job states
    "NotStarted": "queued",
    "Starting": "queued",
    "Provisioning": "queued",
    "Preparing": "queued",
    "Queued": "queued",
    "Running": "running",
    "Finalizing": "running",
    "CancelRequested": "running",
    "Completed": "succeeded",
    "Failed": "failed",
    "Canceled": "cancelled",
    "NotResponding": "failed",
}
OPENAI_STATUS: dict[str, JobStatus] = {
    s: s  # type: ignore[misc]
    for s in ("validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled")
}


def map_status(value: str, table: dict[str, JobStatus], default: JobStatus = "running") -> JobStatus:
    return table.get(value, default)
