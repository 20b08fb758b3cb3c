"""The metrics line the entry script prints, as SageMaker MetricDefinitions and as ftui reads it back.

The trainer prints one `FTUI_METRICS {json}` line per logging step (`ftui_local.train_callback`).
SageMaker applies each definition's regex to every log line and keeps the first group as a CloudWatch
datapoint; ftui applies the very same regexes to the CloudWatch Logs lines it tails, so what the
job's metrics chart shows and what SageMaker records cannot drift apart. The regexes use only plain
groups and classes (no lookarounds, no non-capturing groups): SageMaker's regex engine is not Python's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ftui.model import MetricPoint

TAG = "FTUI_METRICS"
EVENT_TAG = "FTUI_EVENT"
ERROR_TAG = "FTUI_ERROR"
_NUMBER = r"(-?[0-9]+[.]?[0-9]*([eE][-+]?[0-9]+)?)"

# (SageMaker metric name, the key in the metrics line = the MetricPoint field)
METRICS: tuple[tuple[str, str], ...] = (
    ("train:loss", "train_loss"),
    ("train:mean_token_accuracy", "train_mean_token_accuracy"),
    ("validation:loss", "valid_loss"),
    ("validation:mean_token_accuracy", "valid_mean_token_accuracy"),
    ("learning_rate", "learning_rate"),
    ("epoch", "epoch"),
    ("step", "step"),
    ("total_steps", "total_steps"),
    ("tokens_per_second", "tokens_per_second"),
)
FIELD_OF = dict(METRICS)


def regex_for(field: str) -> str:
    return f'{TAG} .*"{field}": {_NUMBER}'


def metric_definitions() -> list[dict[str, str]]:
    """AlgorithmSpecification.MetricDefinitions for create_training_job."""
    return [{"Name": name, "Regex": regex_for(field)} for name, field in METRICS]


_COMPILED = [(field, re.compile(regex_for(field))) for _, field in METRICS]


def values(line: str) -> dict[str, float]:
    """Every metric the definitions would record from this log line (what SageMaker sees)."""
    found: dict[str, float] = {}
    for field, pattern in _COMPILED:
        m = pattern.search(line)
        if m:
            found[field] = float(m.group(1))
    return found


def point(line: str) -> MetricPoint | None:
    """The metrics of one log line, read with the definitions' regexes; None if it has no step."""
    found = values(line)
    if "step" not in found:
        return None
    fields: dict[str, Any] = {k: v for k, v in found.items() if k not in ("step", "total_steps")}
    fields["step"] = int(found["step"])
    fields["total_steps"] = int(found["total_steps"]) if "total_steps" in found else None
    return MetricPoint.model_validate(fields)


def event_payload(line: str) -> dict[str, Any] | None:
    """The job event an `FTUI_EVENT {json}` line carries, or None."""
    at = line.find(EVENT_TAG + " ")
    if at < 0:
        return None
    try:
        event = json.loads(line[at + len(EVENT_TAG) + 1 :])
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("message"), str) else None
