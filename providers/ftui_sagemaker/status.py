"""SageMaker's job and endpoint statuses in ftui's terms, and advice for the failures users hit most.

Training jobs have a status (InProgress, Completed, Failed, Stopping, Stopped) and a secondary status
that says where in its life the job is. SageMaker documents the secondary values as "subject to
change", so an unknown one is kept as it is in `Job.status_detail`, never guessed at. Stopped is not
success: a user stop is `cancelled`, a stop for running out of time is `failed`.
"""

from __future__ import annotations

import re

from ftui.model import DeploymentStatus, JobStatus

# Secondary statuses of an InProgress job that come before any billed training work.
_QUEUED = frozenset({"Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack"})
# Secondary statuses of a Stopped job that mean it ran out of time: a failure, not a cancel.
_TIMED_OUT = {
    "MaxRuntimeExceeded": "max_runtime_exceeded",
    "MaxWaitTimeExceeded": "max_wait_time_exceeded",
}
_TERMINAL: dict[str, JobStatus] = {"Completed": "succeeded", "Failed": "failed"}


def job_status(status: str | None, secondary: str | None) -> tuple[JobStatus, str | None]:
    """(ftui status, the detail to show as it is). Unknown values never raise."""
    detail = secondary or status
    if status in _TERMINAL:
        return _TERMINAL[status], detail
    if status == "Stopped":
        return ("failed" if secondary in _TIMED_OUT else "cancelled"), detail
    if status in ("Stopping", "Deleting"):
        return "running", detail if status == secondary or not secondary else f"{status} ({secondary})"
    if status == "InProgress":
        return ("queued" if secondary in _QUEUED else "running"), detail
    # A status this table does not know: shown as SageMaker says it, treated as still going.
    return "running", f"{status} ({secondary})" if secondary and secondary != status else detail


def timeout_code(secondary: str | None) -> str | None:
    return _TIMED_OUT.get(secondary or "")


ENDPOINT_STATUS: dict[str, DeploymentStatus] = {
    "Creating": "creating",
    "InService": "ready",
    "Updating": "ready",  # an updating endpoint still serves its old configuration
    "SystemUpdating": "ready",
    "RollingBack": "ready",
    "UpdateRollbackFailed": "ready",  # still serving, but the update failed: the detail says so
    "Deleting": "deleting",
    "Failed": "failed",
    "OutOfService": "failed",
}


def endpoint_status(status: str | None) -> DeploymentStatus:
    # An unknown value: billed capacity that may or may not serve; "creating" keeps waiters polling.
    return ENDPOINT_STATUS.get(status or "", "creating")


# ---- failure advice -------------------------------------------------------------------------------

_INSTANCE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")


def advice(
    reason: str, *, instance_type: str = "", volume_gb: int | None = None, bucket: str = ""
) -> str | None:
    """What to do about a FailureReason (or an API error) users often hit; None when nothing fits."""
    text = reason.lower()
    found = _INSTANCE.search(reason)
    itype = found.group(0) if found else instance_type or "this instance type"
    if "resourcelimitexceeded" in text or "service limit" in text or "quota" in text:
        return (
            f"Your account's SageMaker quota for {itype} is too low (often 0 on a new account). Request an "
            f"increase in the Service Quotas console (service Amazon SageMaker, quota '{itype} for training "
            "job usage', or '... for endpoint usage' for deployments), or set another instance_type."
        )
    if "capacity" in text and (
        "insufficient" in text or "unable to provision" in text or "capacityerror" in text
    ):
        return (
            f"AWS has no free {itype} capacity in this region right now. Retry later, use another "
            "instance_type (for example ml.g6.2xlarge or ml.g6e.2xlarge), or another region."
        )
    if "out of memory" in text or "outofmemoryerror" in text or "cuda oom" in text:
        return (
            "The GPU ran out of memory. Lower batch_size or hyperparameters.extra.max_length, or use a "
            "bigger GPU: note that ml.g5.12xlarge is four 24 GB GPUs, not one 96 GB GPU."
        )
    if "no space left" in text or "disk space" in text or "disk full" in text:
        size = f" (now {volume_gb} GB)" if volume_gb else ""
        return (
            f"The instance's volume is full: raise volume_size_gb in the profile{size}. The model, its "
            "checkpoints and the merged copy each need room."
        )
    if (
        "accessdenied" in text or "access denied" in text or "not authorized" in text or "forbidden" in text
    ) and ("s3" in text or "bucket" in text or "download" in text):
        where = f"s3://{bucket}" if bucket else "the bucket"
        return (
            f"The execution role (role_arn) cannot read or write {where}: allow it s3:GetObject, "
            "s3:PutObject and s3:ListBucket there (AmazonSageMakerFullAccess only covers buckets named "
            "with 'sagemaker')."
        )
    if "maxruntimeexceeded" in text or "maxruntimeinseconds" in text:
        return "The job ran out of time: raise max_runtime_hours in the profile."
    if "maxwaittimeexceeded" in text:
        return "Spot capacity did not come in time: raise max_wait_hours, or set spot = false."
    return None
