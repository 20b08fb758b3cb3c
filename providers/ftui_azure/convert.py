"""Azure's objects in ftui's words: job statuses, the result CSV, ARM deployments."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from ftui.model import Deployment, DeploymentStatus, JobStatus, MetricPoint

# Azure's FineTuningState (2025-04-01-preview authoring spec) plus OpenAI's words, which the v1
# endpoint also answers with, and the `canceled` spelling. The backend's word stays visible in
# Job.status_detail wherever it differs from ours ("pausing", "pending").
AZURE_STATUS: dict[str, JobStatus] = {
    "created": "queued",
    "pending": "queued",
    "notRunning": "queued",
    "validating_files": "validating_files",
    "queued": "queued",
    "running": "running",
    "pausing": "paused",
    "paused": "paused",
    "resuming": "running",
    "succeeded": "succeeded",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "failed": "failed",
}

# ARM DeploymentProvisioningState into ftui's deployment states.
PROVISIONING: dict[str, DeploymentStatus] = {
    "Accepted": "creating",
    "Creating": "creating",
    "Moving": "creating",
    "Succeeded": "ready",
    "Failed": "failed",
    "Canceled": "failed",
    "Disabled": "failed",
    "Deleting": "deleting",
}

DEVELOPER_LIFETIME = timedelta(hours=24)

# results.csv columns (Azure's names) into MetricPoint fields.
CSV_COLUMNS = {
    "train_loss": "train_loss",
    "train_mean_token_accuracy": "train_mean_token_accuracy",
    "valid_loss": "valid_loss",
    "validation_mean_token_accuracy": "valid_mean_token_accuracy",
    "valid_mean_token_accuracy": "valid_mean_token_accuracy",
    "full_valid_loss": "full_valid_loss",
    "full_valid_mean_token_accuracy": "full_valid_mean_token_accuracy",
}


def decode_result_file(data: bytes) -> str:
    """The result file's text: Azure and OpenAI serve it base64-encoded, a server may not."""
    import base64
    import binascii

    text = data.decode("utf-8-sig", errors="replace").strip()
    if text and "," not in text.splitlines()[0]:  # a CSV header has commas; base64 has none
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            text = base64.b64decode(text, validate=False).decode("utf-8-sig")
    return text


def csv_points(text: str) -> list[MetricPoint]:
    """Step metrics from a results.csv; empty cells (valid_loss between evals) are left out."""
    points = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            step = int(float(row.get("step") or ""))
        except ValueError:
            continue
        values: dict[str, float] = {}
        extra: dict[str, float] = {}
        for column, cell in row.items():
            if column in (None, "step") or cell in (None, ""):
                continue
            try:
                number = float(cell)
            except ValueError:
                continue
            if column in CSV_COLUMNS:
                values[CSV_COLUMNS[column]] = number
            else:
                extra[str(column)] = number
        points.append(MetricPoint.model_validate({"step": step, **values, "extra": extra}))
    return points


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    return obj


def to_deployment(obj: Any, provider: str, endpoint: str, hourly: dict[str, float]) -> Deployment:
    """An ARM `Deployment` (SDK model) in ftui's model; `hourly` is the hosting price by sku."""
    raw = obj.as_dict() if hasattr(obj, "as_dict") else dict(obj)
    state = str(_get(obj, "properties", "provisioning_state") or "Creating")
    sku = str(_get(obj, "sku", "name") or "") or None
    created = _get(obj, "system_data", "created_at")
    if isinstance(created, datetime) and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    developer = (sku or "").lower() == "developertier"
    model = _get(obj, "properties", "model", "name") or ""
    return Deployment(
        id=str(_get(obj, "name")),
        provider=provider,
        model=str(model),
        status=PROVISIONING.get(state, "creating"),
        status_detail=None if state in ("Succeeded", "Creating") else state,
        endpoint=endpoint,
        created_at=created if isinstance(created, datetime) else None,
        sku=sku,
        capacity=_get(obj, "sku", "capacity"),
        hourly_cost=hourly.get((sku or "").lower()),
        # Developer deployments are removed 24 h after they are made, used or not.
        expires_at=created + DEVELOPER_LIFETIME if developer and isinstance(created, datetime) else None,
        raw=raw,
    )
