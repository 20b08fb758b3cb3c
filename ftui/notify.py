"""Job-finished notifications: the CLI and the TUI hand every job they see to `job_seen`.

The store remembers which jobs were already announced, so `ftui_job_finished` fires once per job
and profile, however many screens or commands watch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftui.model import Job
from ftui.store import Store


@dataclass
class Seen:
    finished_now: bool  # True the first time this job is seen in a terminal status
    errors: list[str] = field(default_factory=list)  # plugins that failed; shown as warnings


def job_seen(store: Store, profile: str, job: Job) -> Seen:
    """Cache `job`; the first time it is terminal, call every `ftui_job_finished` hook."""
    from ftui.plugins import hooks

    first = store.cache_job(profile, job.id, job.status, job.model_dump(mode="json"))
    if not first:
        return Seen(False)
    return Seen(True, hooks().job_finished(job))
