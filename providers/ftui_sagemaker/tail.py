"""A training job's events, read incrementally: status transitions, CloudWatch Logs, CloudWatch metrics.

Each poll returns only what is new since the cursor, an opaque token holding CloudWatch Logs'
forward token per log stream (`/aws/sagemaker/TrainingJobs`, streams `JOB/algo-N-...`), how many
secondary-status transitions were already shown, and whether the failure was. Log lines become events
through the same regexes SageMaker's MetricDefinitions use (`metrics.point`) and the entry script's
`FTUI_EVENT` lines. Where no log stream can be read (the role cannot write logs, the group expired),
the job's CloudWatch metrics stand in for the metric lines.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ftui.errors import FtuiError
from ftui.model import JobEvent, MetricPoint
from ftui_sagemaker import metrics
from ftui_sagemaker.aws import error_code

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
NAMESPACE = "/aws/sagemaker/TrainingJobs"
MAX_EVENTS_PER_POLL = 5000
_LEVELS: dict[str, Literal["info", "warn", "error"]] = {"info": "info", "warn": "warn", "error": "error"}


@dataclass
class Cursor:
    streams: dict[str, str] = field(default_factory=dict)  # log stream -> nextForwardToken
    transitions: int = 0
    failure: bool = False
    metrics_after: float = 0.0  # fallback only: the newest CloudWatch datapoint already shown
    logs_denied: bool = False  # the warning that logs cannot be read was shown

    def encode(self) -> str:
        raw = json.dumps(
            {
                "s": self.streams,
                "t": self.transitions,
                "f": self.failure,
                "m": self.metrics_after,
                "d": self.logs_denied,
            },
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return cls(
                streams=dict(raw["s"]),
                transitions=int(raw["t"]),
                failure=bool(raw["f"]),
                metrics_after=float(raw["m"]),
                logs_denied=bool(raw.get("d", False)),
            )
        except (ValueError, KeyError, TypeError):
            raise FtuiError(f"not an events cursor of a SageMaker job: {text[:40]!r}") from None


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _event_id(kind: str, when: datetime, *parts: object) -> str:
    digest = hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()[:10]
    return f"sm-{kind}-{int(when.timestamp() * 1000):013d}-{digest}"


def transition_events(job: dict[str, Any], seen: int) -> list[JobEvent]:
    out = []
    for i, t in enumerate(job.get("SecondaryStatusTransitions") or []):
        if i < seen:
            continue
        when = t.get("StartTime") or job.get("CreationTime") or datetime.now(UTC)
        message = (
            f"{t.get('Status')}: {t['StatusMessage']}" if t.get("StatusMessage") else str(t.get("Status"))
        )
        out.append(
            JobEvent(id=_event_id("status", when, i, t.get("Status")), created_at=when, message=message)
        )
    return out


def line_event(message: str, when: datetime, stream: str, ingestion: object) -> JobEvent | None:
    """The job event one log line means, or None for a line that is only log."""
    point = metrics.point(message)
    if point is not None:
        return JobEvent(
            id=_event_id("metrics", when, stream, ingestion, message),
            created_at=when,
            message=f"Step {point.step} metrics",
            type="metrics",
            metrics=point,
        )
    payload = metrics.event_payload(message)
    if payload is not None:
        if payload.get("type") == "metrics":
            return None  # the same step's FTUI_METRICS line is the one read (with the definitions' regexes)
        level = _LEVELS.get(str(payload.get("level")), "info")
        # CloudWatch's timestamp, not the container's clock: one time line with the status transitions.
        return JobEvent(
            id=_event_id("event", when, stream, ingestion, message),
            created_at=when,
            level=level,
            message=payload["message"],
        )
    at = message.find(metrics.ERROR_TAG + " ")
    if at >= 0:
        text = message[at + len(metrics.ERROR_TAG) + 1 :].strip()
        return JobEvent(
            id=_event_id("error", when, stream, ingestion, message),
            created_at=when,
            level="error",
            message=text,
        )
    return None


def log_streams(logs: Any, job_name: str) -> list[str] | None:
    """The job's log streams; None when these credentials may not read CloudWatch Logs."""
    names: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job_name}/"}
    while True:
        try:
            page = logs.describe_log_streams(**kwargs)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []  # the group appears with the first container that logs
            if error_code(exc) in ("AccessDeniedException", "AccessDenied"):
                return None
            raise
        names += [s["logStreamName"] for s in page.get("logStreams", [])]
        if not page.get("nextToken"):
            return sorted(names)
        kwargs["nextToken"] = page["nextToken"]


def read_stream(
    logs: Any, stream: str, token: str | None, budget: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """New events of one stream: (events, the token to resume from, whether more are waiting)."""
    found: list[dict[str, Any]] = []
    while True:
        kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = logs.get_log_events(**kwargs)
        found += page.get("events", [])
        nxt = page.get("nextForwardToken")
        # CloudWatch answers the same forward token again once nothing newer exists.
        if not nxt or nxt == token or not page.get("events"):
            return found, nxt or token, False
        token = nxt
        if len(found) >= budget:
            return found, token, True


def fallback_metrics(cw: Any, job_name: str, since: datetime, after: float) -> list[JobEvent]:
    """The job's algorithm metrics from CloudWatch (one-minute points, minutes late), as metric events."""
    queries = [
        {
            "Id": f"m{i}",
            "Label": name,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": name,
                    "Dimensions": [{"Name": "TrainingJobName", "Value": job_name}],
                },
                "Period": 60,
                "Stat": "Average",
            },
        }
        for i, (name, _) in enumerate(metrics.METRICS)
    ]
    series: dict[str, dict[float, float]] = {}
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": since - timedelta(minutes=5),
        "EndTime": datetime.now(UTC) + timedelta(minutes=5),
        "ScanBy": "TimestampAscending",
    }
    while True:
        page = cw.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            field_name = metrics.FIELD_OF.get(result.get("Label", ""))
            if field_name is None:
                continue
            for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                series.setdefault(field_name, {})[when.timestamp()] = value
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    out = []
    for stamp in sorted(series.get("step", {})):
        if stamp <= after:
            continue
        fields = {k: v[stamp] for k, v in series.items() if stamp in v and k not in ("step", "total_steps")}
        total = series.get("total_steps", {}).get(stamp)
        point = MetricPoint.model_validate(
            {**fields, "step": int(series["step"][stamp]), "total_steps": int(total) if total else None}
        )
        when = datetime.fromtimestamp(stamp, UTC)
        out.append(
            JobEvent(
                id=_event_id("cwmetric", when, point.step),
                created_at=when,
                message=f"Step {point.step} metrics",
                type="metrics",
                metrics=point,
            )
        )
    return out
