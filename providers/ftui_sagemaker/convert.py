"""SageMaker's objects in the common model: a training job as a `Job`, an endpoint as a `Deployment`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ftui.model import Deployment, Job, JobError, Method, now
from ftui_sagemaker import catalog, payloads, status
from ftui_sagemaker.settings import SageMakerSettings

TAG_MODEL = "ftui:model"
TAG_INSTANCE = "ftui:instance-type"
TAG_COUNT = "ftui:instance-count"
_METHODS: dict[str, Method] = {"supervised": "supervised", "dpo": "dpo", "reinforcement": "reinforcement"}


def fine_tuned_name(base_model: str, job_name: str) -> str:
    """`ft:BASE:JOB`, the model a succeeded job made; `deploy` takes it (or the job name)."""
    short = re.sub(r"[^A-Za-z0-9._-]+", "-", base_model.rstrip("/").split("/")[-1]) or "model"
    return f"ft:{short}:{job_name}"


def job_name_of(model: str) -> str:
    return model.rsplit(":", 1)[-1] if model.startswith("ft:") else model


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items() if k != "ResponseMetadata"}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def _channel_uri(job: dict[str, Any], name: str) -> str | None:
    for channel in job.get("InputDataConfig") or []:
        if channel.get("ChannelName") == name:
            return str(channel["DataSource"]["S3DataSource"]["S3Uri"])
    return None


def job_error(job: dict[str, Any], settings: SageMakerSettings) -> JobError | None:
    reason = job.get("FailureReason")
    timeout = status.timeout_code(job.get("SecondaryStatus"))
    if job.get("TrainingJobStatus") != "Failed" and not timeout:
        return None
    text = reason or {
        "max_runtime_exceeded": "MaxRuntimeExceeded: the job ran longer than max_runtime_hours",
        "max_wait_time_exceeded": "MaxWaitTimeExceeded: spot capacity did not come within max_wait_hours",
    }.get(timeout or "", "the job failed without a reason")
    hint = status.advice(
        f"{job.get('SecondaryStatus') or ''} {text}",
        instance_type=(job.get("ResourceConfig") or {}).get("InstanceType", settings.instance_type),
        volume_gb=(job.get("ResourceConfig") or {}).get("VolumeSizeInGB"),
        bucket=settings.bucket or "",
    )
    code = timeout or (
        text.split(":", 1)[0].strip().replace(" ", "_") if ":" in text[:40] else "training_failed"
    )
    return JobError(code=code or "training_failed", message=f"{text}\n{hint}" if hint else text)


def to_job(job: dict[str, Any], settings: SageMakerSettings) -> Job:
    hps = payloads.decode_hyperparameters(job.get("HyperParameters") or {})
    state, detail = status.job_status(job.get("TrainingJobStatus"), job.get("SecondaryStatus"))
    name = job["TrainingJobName"]
    base = str(hps.get("base_model") or "")
    done = state in ("succeeded", "failed", "cancelled")
    method = _METHODS.get(str(hps.get("method")), "supervised")
    result_files = []
    if state == "succeeded" and job.get("OutputDataConfig"):
        result_files = [payloads.model_prefix(job)]
    return Job(
        id=name,
        provider="sagemaker",
        status=state,
        status_detail=detail,
        base_model=base,
        method=method,
        fine_tuned_model=str(hps.get("fine_tuned_model") or fine_tuned_name(base, name))
        if state == "succeeded"
        else None,
        created_at=job.get("CreationTime") or now(),
        started_at=job.get("TrainingStartTime"),
        finished_at=(job.get("TrainingEndTime") or job.get("LastModifiedTime")) if done else None,
        error=job_error(job, settings),
        hyperparameters=payloads.hyperparameters_of(hps),
        training_file=_channel_uri(job, "train"),
        validation_file=_channel_uri(job, "validation"),
        suffix=hps.get("suffix"),
        seed=hps.get("seed") if isinstance(hps.get("seed"), int) else None,
        result_files=result_files,
        metadata={
            t["Key"][len("ftui:meta:") :]: t["Value"]
            for t in job.get("Tags") or []
            if t["Key"].startswith("ftui:meta:")
        },
        raw=jsonable(job),
    )


def endpoint_url(settings: SageMakerSettings, name: str) -> str:
    base = settings.endpoint_for("sagemaker-runtime")
    if base:
        return f"{base.rstrip('/')}/endpoints/{name}/invocations"
    domain = "amazonaws.com.cn" if settings.region.startswith("cn-") else "amazonaws.com"
    return f"https://runtime.sagemaker.{settings.region}.{domain}/endpoints/{name}/invocations"


def hourly_price(settings: SageMakerSettings, instance_type: str | None) -> float | None:
    if not instance_type:
        return None
    return settings.price_per_hour or catalog.instance(instance_type).usd_per_hour


def to_deployment(endpoint: dict[str, Any], tags: dict[str, str], settings: SageMakerSettings) -> Deployment:
    name = endpoint["EndpointName"]
    raw_status = endpoint.get("EndpointStatus")
    instance_type = tags.get(TAG_INSTANCE)
    count = None
    for variant in endpoint.get("ProductionVariants") or []:
        count = variant.get("CurrentInstanceCount") or variant.get("DesiredInstanceCount") or count
    if count is None and tags.get(TAG_COUNT, "").isdigit():
        count = int(tags[TAG_COUNT])
    price = hourly_price(settings, instance_type)
    error = endpoint.get("FailureReason")
    if error:
        hint = status.advice(error, instance_type=instance_type or "", bucket=settings.bucket or "")
        error = f"{error}\n{hint}" if hint else error
    return Deployment(
        id=name,
        provider="sagemaker",
        model=tags.get(TAG_MODEL, ""),
        status=status.endpoint_status(raw_status),
        status_detail=raw_status,
        endpoint=endpoint_url(settings, name),
        created_at=endpoint.get("CreationTime"),
        instance_type=instance_type,
        capacity=count,
        hourly_cost=price * (count or 1) if price is not None else None,
        error=error,
        raw=jsonable(endpoint),
    )
