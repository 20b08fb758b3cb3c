"""Ids and model names of local jobs, shaped like OpenAI's so users and scripts recognise them.

job        ftjob-<24 alphanumerics>
file       file-<24 alphanumerics>
model      ft:<base>:local:<suffix>:<first 8 of the job's random part>
checkpoint ft:<base>:local:<suffix>:<8>:ckpt-step-<N>      (id: ftckpt_<24 hex>)
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass

_ALPHABET = string.ascii_letters + string.digits
JOB_PREFIX = "ftjob-"
FILE_PREFIX = "file-"
_CKPT = re.compile(r":ckpt-step-(\d+)$")


def random_part(n: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def new_job_id() -> str:
    return JOB_PREFIX + random_part()


def new_file_id() -> str:
    return FILE_PREFIX + random_part()


def short_id(job_id: str) -> str:
    return job_id.removeprefix(JOB_PREFIX)[:8]


def clean_suffix(suffix: str | None) -> str:
    # A colon would make the name ambiguous to parse; OpenAI allows letters, digits, - and _.
    return re.sub(r"[^A-Za-z0-9_.-]", "-", suffix or "")


def fine_tuned_name(base: str, suffix: str | None, job_id: str) -> str:
    return f"ft:{base}:local:{clean_suffix(suffix)}:{short_id(job_id)}"


def checkpoint_name(model: str, step: int) -> str:
    return f"{model}:ckpt-step-{step}"


def checkpoint_id(job_id: str, step: int) -> str:
    return "ftckpt_" + hashlib.sha256(f"{job_id}:{step}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ModelRef:
    """A parsed `ft:` name: which job (by its short id) and, for a checkpoint, which step."""

    name: str  # the model name without the checkpoint part
    base: str
    short: str
    step: int | None


def parse_fine_tuned(name: str) -> ModelRef | None:
    """Split an `ft:...:local:...` name; None when the name is not one of ours."""
    if not name.startswith("ft:"):
        return None
    step = None
    m = _CKPT.search(name)
    if m:
        step = int(m.group(1))
        name = name[: m.start()]
    parts = name.split(":")
    # ft, base..., "local", suffix, short; a base name may itself hold colons (e.g. "org:model").
    if len(parts) < 5 or parts[-3] != "local":
        return None
    return ModelRef(name=name, base=":".join(parts[1:-3]), short=parts[-1], step=step)
