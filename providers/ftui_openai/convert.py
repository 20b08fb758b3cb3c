"""OpenAI's objects (SDK models) into ftui's common model, and JobSpec into a create request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ftui.model import (
    EVENT_LEVELS,
    METHODS,
    Checkpoint,
    Hyperparameters,
    Job,
    JobError,
    JobEvent,
    JobSpec,
    JobStatus,
    MetricPoint,
    RemoteFile,
    one_of,
)

# OpenAI's words are ours; an unknown one means "running" while the job has not finished.
OPENAI_STATUS: dict[str, JobStatus] = {
    "validating_files": "validating_files",
    "queued": "queued",
    "running": "running",
    "paused": "paused",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}

METRIC_FIELDS = (
    "total_steps",
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
)


def when(ts: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts else None


def _dump(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    return obj.model_dump(mode="json", exclude_none=False)


def metric_point(data: dict[str, Any] | None, step: int | None = None) -> MetricPoint | None:
    data = data or {}
    step = data.get("step", step)
    if step is None:
        return None
    known = {k: data[k] for k in METRIC_FIELDS if isinstance(data.get(k), int | float)}
    if "total_steps" in known:
        known["total_steps"] = int(known["total_steps"])
    extra = {
        k: float(v)
        for k, v in data.items()
        if k not in known and k != "step" and isinstance(v, int | float) and not isinstance(v, bool)
    }
    return MetricPoint(step=int(step), **known, extra=extra)


def _hyperparameters(raw: dict[str, Any]) -> Hyperparameters:
    hp = raw.get("hyperparameters") or {}
    method = raw.get("method") or {}
    kind = method.get("type") or "supervised"
    hp = {**hp, **((method.get(kind) or {}).get("hyperparameters") or {})}
    fields = {}
    for key in ("n_epochs", "batch_size", "learning_rate_multiplier", "beta"):
        value = hp.get(key)
        if value is not None:
            fields[key] = value
    extra = {k: v for k, v in hp.items() if k not in fields and v is not None}
    return Hyperparameters.lenient(fields, extra)


def to_job(obj: Any, provider: str, statuses: dict[str, JobStatus] = OPENAI_STATUS) -> Job:
    """`statuses` is the backend's own table (OpenAI's by default); an unknown word is kept in
    `status_detail` and read as running, or failed once the job has finished."""
    raw = _dump(obj)
    method = (raw.get("method") or {}).get("type") or "supervised"
    word = str(raw.get("status"))
    status = statuses.get(word, "failed" if raw.get("finished_at") else "running")
    err = raw.get("error") or {}
    error = (
        JobError(code=str(err["code"]), message=str(err.get("message") or ""), param=err.get("param"))
        if isinstance(err, dict) and err.get("code")
        else None
    )  # `{}` on healthy jobs
    return Job(
        id=raw["id"],
        provider=provider,
        status=status,
        status_detail=None if word in statuses and statuses[word] == word else word,
        base_model=raw.get("model") or "",
        method=one_of(method, METHODS, "supervised"),
        fine_tuned_model=raw.get("fine_tuned_model"),
        created_at=when(raw.get("created_at")) or datetime.now(UTC),
        finished_at=when(raw.get("finished_at")),
        trained_tokens=raw.get("trained_tokens"),
        error=error,
        hyperparameters=_hyperparameters(raw),
        training_file=raw.get("training_file"),
        validation_file=raw.get("validation_file"),
        suffix=raw.get("user_provided_suffix"),
        seed=raw.get("seed"),
        result_files=list(raw.get("result_files") or []),
        estimated_finish=when(raw.get("estimated_finish")),
        metadata={str(k): str(v) for k, v in (raw.get("metadata") or {}).items()},
        raw=raw,
    )


def to_event(obj: Any) -> JobEvent:
    raw = _dump(obj)
    is_metrics = raw.get("type") == "metrics"
    level = one_of(raw.get("level"), EVENT_LEVELS, "info")
    return JobEvent(
        id=raw["id"],
        created_at=when(raw.get("created_at")) or datetime.now(UTC),
        level=level,
        message=str(raw.get("message") or ""),
        type="metrics" if is_metrics else "message",
        metrics=metric_point(raw.get("data")) if is_metrics else None,
    )


def to_checkpoint(obj: Any) -> Checkpoint:
    raw = _dump(obj)
    return Checkpoint(
        id=raw["id"],
        job_id=raw["fine_tuning_job_id"],
        step=int(raw["step_number"]),
        created_at=when(raw.get("created_at")) or datetime.now(UTC),
        fine_tuned_model_checkpoint=raw["fine_tuned_model_checkpoint"],
        metrics=metric_point(raw.get("metrics"), step=int(raw["step_number"])),
    )


def to_file(obj: Any, provider: str) -> RemoteFile:
    raw = _dump(obj)
    return RemoteFile(
        id=raw["id"],
        provider=provider,
        filename=raw.get("filename") or "",
        bytes=raw.get("bytes") or 0,
        purpose=raw.get("purpose") or "fine-tune",
        created_at=when(raw.get("created_at")) or datetime.now(UTC),
        status=raw.get("status") or "processed",
    )


def create_params(
    spec: JobSpec, training_file: str, validation_file: str | None, request_id: str
) -> dict[str, Any]:
    """The body of `fine_tuning.jobs.create`, with everything the spec says passed through."""
    hp = spec.hyperparameters
    values: dict[str, Any] = {
        "n_epochs": hp.n_epochs,
        "batch_size": hp.batch_size,
        "learning_rate_multiplier": hp.learning_rate_multiplier,
    }
    if spec.method == "dpo":
        values["beta"] = hp.beta if hp.beta is not None else "auto"
    values.update(hp.extra)  # reasoning_effort, compute_multiplier, eval_interval, ...
    settings: dict[str, Any] = {"hyperparameters": values}
    if spec.method == "reinforcement" and spec.grader:
        grader = dict(spec.grader)
        if "response_format" in grader:
            settings["response_format"] = grader.pop("response_format")
        settings["grader"] = grader
    params: dict[str, Any] = {
        "model": spec.base_model,
        "training_file": training_file,
        "method": {"type": spec.method, spec.method: settings},
        "metadata": {**spec.metadata, "ftui_request_id": request_id},
    }
    if validation_file:
        params["validation_file"] = validation_file
    if spec.suffix:
        params["suffix"] = spec.suffix
    if spec.seed is not None:
        params["seed"] = spec.seed
    if spec.integrations:
        params["integrations"] = spec.integrations
    return params
