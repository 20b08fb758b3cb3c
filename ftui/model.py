"""The common domain model every provider maps its backend's objects into.

Names follow OpenAI's fine-tuning API where it has one: users already think in them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ftui.status import ACTIVE_STATUSES as ACTIVE_STATUSES
from ftui.status import TERMINAL_STATUSES as TERMINAL_STATUSES

JobStatus = Literal["validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled"]
Method = Literal["supervised", "dpo", "reinforcement"]
Auto = Literal["auto"]
EventLevel = Literal["info", "warn", "error"]
Role = Literal["system", "developer", "user", "assistant", "tool"]
METHODS: tuple[Method, ...] = get_args(Method)
EVENT_LEVELS: tuple[EventLevel, ...] = get_args(EventLevel)

L = TypeVar("L", bound=str)


def one_of(value: object, allowed: tuple[L, ...], default: L) -> L:
    """`value` as one of a Literal's `allowed` values, else `default`: how a backend's free text
    or a form's string becomes a typed field without a cast."""
    for option in allowed:
        if option == value:
            return option
    return default


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

    @classmethod
    def lenient(cls, fields: dict[str, Any], extra: dict[str, Any]) -> Hyperparameters:
        """What a job read back from a backend or an old job folder holds, keeping every value
        that passes and dropping the rest (a job created before the bounds, with a learning rate
        of 1e300, must still be listed)."""
        from ftui.hyperparameters import HyperparameterError, finite

        kept: dict[str, Any] = {}
        for name, value in fields.items():
            try:
                cls(**{name: value})
            except ValueError:
                continue
            kept[name] = value
        good_extra: dict[str, Any] = {}
        for name, value in extra.items():
            try:
                finite(value, name)
            except HyperparameterError:
                continue
            good_extra[name] = value
        return cls(**kept, extra=good_extra)


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
    # The provider's own choices for this job, by `JobOption.key` (e.g. Azure's training tier);
    # one left out takes the option's default.
    options: dict[str, str] = Field(default_factory=dict)


class JobOption(_Model):
    """A provider-specific choice the job form shows with its default, and `--option` sets."""

    key: str
    label: str
    choices: list[str]
    default: str
    help: str = ""


class JobError(_Model):
    code: str
    message: str
    param: str | None = None


class Job(_Model):
    id: str
    provider: str
    status: JobStatus
    status_detail: str | None = None  # the backend's own words: a secondary status, an unmapped one
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
    level: EventLevel = "info"
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
    methods: list[Method] = Field(default_factory=lambda: list[Method](["supervised"]))
    context_length: int | None = None
    training_price_per_1m_tokens: float | None = None  # USD
    fine_tuned: bool = False


DeploymentStatus = Literal["creating", "ready", "failed", "deleting", "deleted"]


class DeploySpec(_Model):
    """What to make callable, and on what: a model or checkpoint, a sku (Azure) or an instance
    type (SageMaker, Azure ML managed compute), and how many."""

    model: str  # a fine-tuned model or checkpoint name, as Job.fine_tuned_model / Checkpoint give it
    name: str | None = Field(default=None, max_length=64)  # the deployment's name; None: derived
    sku: str | None = None  # Azure OpenAI: developertier, standard, globalstandard
    instance_type: str | None = None  # SageMaker, Azure ML managed compute
    capacity: int = Field(default=1, ge=1, le=1000)  # instances, or Azure capacity units
    extra: dict[str, Any] = Field(default_factory=dict)


class Deployment(_Model):
    """A model made callable on billed capacity: minutes to create, billed every hour until deleted."""

    id: str  # what `undeploy` and `chat` accept
    provider: str
    model: str
    status: DeploymentStatus
    status_detail: str | None = None  # the backend's own word, shown as it is (unknown ones too)
    endpoint: str | None = None
    created_at: datetime | None = None
    sku: str | None = None
    instance_type: str | None = None
    capacity: int | None = None
    hourly_cost: float | None = None  # USD per hour where known
    expires_at: datetime | None = None  # e.g. Azure Developer deployments vanish after 24 h
    error: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    def cost_so_far(self, at: datetime | None = None) -> float | None:
        if self.hourly_cost is None or self.created_at is None:
            return None
        hours = max(0.0, ((at or now()) - self.created_at).total_seconds() / 3600)
        return self.hourly_cost * hours


class CostEstimate(_Model):
    """What a run or a deployment will cost, before it exists. Always an estimate."""

    currency: Literal["USD"] = "USD"
    total: float | None = None  # None: the provider cannot price it (say why in `basis`)
    per_hour: float | None = None  # instance-hour or hosting rate
    hours: float | None = None  # estimated duration, where it can be estimated
    billed_tokens: int | None = None
    price_per_1m_tokens: float | None = None
    basis: str = ""  # one line a user can check: "3 epochs × 120,000 tokens × $25.00 / 1M"
    source: str | None = None  # where the price came from
    as_of: str | None = None  # when that price was read (YYYY-MM-DD)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list. `next_cursor` is opaque: OpenAI's `after` id, AWS's NextToken, an offset.

    Lists (jobs, files, deployments): `next_cursor` is None on the last page.
    Events: items are oldest first, newer than the cursor passed in, and `next_cursor` is where the
    next poll resumes (never None once an event was seen); `has_more` says more is ready now.
    """

    items: list[T]
    next_cursor: str | None = None
    has_more: bool = False


class ChatMessage(_Model):
    role: Role
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
