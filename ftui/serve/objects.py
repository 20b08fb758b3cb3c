"""ftui's domain objects rendered as OpenAI's JSON objects, field for field.

Where real OpenAI responses differ from its own spec, these follow the responses (the SDK and the
scripts users copy are written against those): `error: {}` on healthy jobs, `paused` as a status.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ftui.model import Checkpoint, Job, JobEvent, MetricPoint, RemoteFile

METRIC_KEYS = (
    "step",
    "total_steps",
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
)
CHECKPOINT_METRIC_KEYS = tuple(k for k in METRIC_KEYS if k != "total_steps")


def ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def file_object(f: RemoteFile, expires_at: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f.id,
        "object": "file",
        "bytes": f.bytes,
        "created_at": ts(f.created_at),
        "filename": f.filename,
        "purpose": f.purpose,
        "status": f.status if f.status in ("uploaded", "processed", "error") else "processed",
    }
    if expires_at is not None:  # the spec types it integer, not nullable: absent when unset
        body["expires_at"] = expires_at
    return body


def seed_of(job: Job) -> int:
    # OpenAI always reports a seed; a provider that drew none gets a stable one from the id.
    if job.seed is not None:
        return job.seed
    return int.from_bytes(hashlib.sha256(job.id.encode()).digest()[:4], "big") & 0x7FFFFFFF


def _raw(job: Job, key: str) -> Any:
    """A field of the backend's raw object, at the top or under its state/spec (local jobs)."""
    raw = job.raw
    for where in (raw, raw.get("state"), raw.get("spec")):
        if isinstance(where, dict) and where.get(key) is not None:
            return where[key]
    return None


def hyperparameters_of(job: Job) -> dict[str, Any]:
    hp = job.hyperparameters
    values: dict[str, Any] = {
        "batch_size": hp.batch_size,
        "learning_rate_multiplier": hp.learning_rate_multiplier,
        "n_epochs": hp.n_epochs,
    }
    if job.method == "dpo":
        values["beta"] = hp.beta if hp.beta is not None else "auto"
    resolved = _raw(job, "resolved_hyperparameters")
    if isinstance(resolved, dict):
        values.update({k: v for k, v in resolved.items() if k in values and v is not None})
    return values


def job_object(job: Job, organization: str, result_files: list[str] | None = None) -> dict[str, Any]:
    hp = hyperparameters_of(job)
    top_hp = {k: hp[k] for k in ("batch_size", "learning_rate_multiplier", "n_epochs")}
    method: dict[str, Any] = {"type": job.method, job.method: {"hyperparameters": hp}}
    grader = _raw(job, "grader")
    if job.method == "reinforcement" and isinstance(grader, dict):
        method["reinforcement"]["grader"] = grader
    error: dict[str, Any] = (
        {"code": job.error.code, "message": job.error.message, "param": job.error.param} if job.error else {}
    )
    succeeded = job.status == "succeeded"
    return {
        "id": job.id,
        "object": "fine_tuning.job",
        "created_at": ts(job.created_at),
        "model": job.base_model,
        "organization_id": f"org-{organization}",
        "status": job.status,
        "training_file": job.training_file or "",
        "validation_file": job.validation_file,
        "fine_tuned_model": job.fine_tuned_model if succeeded else None,
        "finished_at": ts(job.finished_at) if job.done else None,
        "trained_tokens": job.trained_tokens if succeeded else None,
        "result_files": list(result_files if result_files is not None else job.result_files),
        "hyperparameters": top_hp if job.method == "supervised" else None,
        "method": method,
        "error": error,
        "seed": seed_of(job),
        "estimated_finish": ts(job.estimated_finish) if job.status == "running" else None,
        "integrations": list(_raw(job, "integrations") or []),
        "metadata": dict(job.metadata) or None,
        "user_provided_suffix": job.suffix,
        "usage_metrics": None,
        "shared_with_openai": False,
    }


# Reinforcement fine-tuning's metrics (OpenAI's RFT event data), kept in MetricPoint.extra.
RFT_KEYS = ("train_mean_reward", "full_valid_mean_reward")


def metrics_data(m: MetricPoint, keys: tuple[str, ...] = METRIC_KEYS) -> dict[str, Any]:
    data = {k: getattr(m, k) for k in keys if getattr(m, k) is not None}
    if "step" in data and keys is METRIC_KEYS:
        data["step"] = int(data["step"])
    data.update({k: m.extra[k] for k in RFT_KEYS if k in m.extra})
    graders = {
        k.split("/")[1]: v for k, v in m.extra.items() if k.startswith("rewards/") and k.endswith("/mean")
    }
    if graders:  # OpenAI's `scores.graders`, one entry per grader
        data["scores"] = {
            "train_reward_mean": m.extra.get("train_mean_reward"),
            "graders": [{"name": name, "train_reward_mean": v} for name, v in graders.items()],
        }
    return data


def event_object(e: JobEvent) -> dict[str, Any]:
    metrics = e.type == "metrics" and e.metrics is not None
    return {
        "object": "fine_tuning.job.event",
        "id": e.id,
        "created_at": ts(e.created_at),
        "level": e.level,
        "message": e.message,
        "type": "metrics" if metrics else "message",
        "data": metrics_data(e.metrics) if metrics and e.metrics else {},
    }


def checkpoint_object(c: Checkpoint) -> dict[str, Any]:
    metrics = metrics_data(c.metrics, CHECKPOINT_METRIC_KEYS) if c.metrics else {}
    metrics.setdefault("step", c.step)
    return {
        "object": "fine_tuning.job.checkpoint",
        "id": c.id,
        "created_at": ts(c.created_at),
        "fine_tuned_model_checkpoint": c.fine_tuned_model_checkpoint,
        "fine_tuning_job_id": c.job_id,
        "step_number": c.step,
        "metrics": metrics,
    }


def model_object(model_id: str, created: int, owned_by: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": created,
        "owned_by": owned_by,
        "shutdown_date": None,
    }


def owner_of(model_id: str, organization: str) -> str:
    """`system` for base models; for `ft:BASE:ORG:SUFFIX:ID` names, the ORG segment."""
    if not model_id.startswith("ft:"):
        return "system"
    name = model_id.split(":ckpt-step-")[0]
    parts = name.split(":")
    return parts[-3] if len(parts) >= 5 else organization


def list_object(data: list[dict[str, Any]], has_more: bool, *, ids: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
    if ids:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return body


def page(items: list[dict[str, Any]], after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Items already in list order; `after` is exclusive. An unknown cursor gives an empty page."""
    if after:
        for n, item in enumerate(items):
            if item["id"] == after:
                items = items[n + 1 :]
                break
        else:
            items = []
    return items[:limit], len(items) > limit
