"""How domain values look in cells: status colours, times, durations, counts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from ftui.model import Job

STATUS_STYLE = {
    "validating_files": "yellow",
    "queued": "yellow",
    "running": "bold cyan",
    "paused": "magenta",
    "succeeded": "bold green",
    "failed": "bold red",
    "cancelled": "dim",
}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def when_short(moment: datetime | None) -> str:
    """Month, day and time: what fits a table column at 80 columns."""
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%m-%d %H:%M")


def duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def job_duration(job: Job, now: datetime) -> str:
    start = job.started_at or job.created_at
    end = job.finished_at or (None if job.done else now)
    if end is None:
        return "-"
    return duration((end - start).total_seconds())


def count(value: int | float | None) -> str:
    if value is None:
        return "-"
    value = float(value)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"


def size(num_bytes: int) -> str:
    step = 1024.0
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < step:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= step
    return f"{value:.1f} TiB"


def job_cells(job: Job, now: datetime) -> tuple[str | Text, ...]:
    """The Jobs table's row for a job (order matches JOB_COLUMNS)."""
    return (
        job.id,
        status_text(job.status),
        job.base_model,
        when_short(job.created_at),
        job_duration(job, now),
        count(job.trained_tokens),
        job.fine_tuned_model or "-",
    )


# The fine-tuned model name is the longest; last, so 80 columns still show the rest.
JOB_COLUMNS = ("id", "status", "base model", "created", "duration", "tokens", "fine-tuned model")
