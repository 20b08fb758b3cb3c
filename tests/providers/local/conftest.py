"""Small chat and preference files and job folders for the local trainer's tests (tiny-llama, seconds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ftui_local.jobdir import JobDir


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def chat_rows(n: int = 8) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "system", "content": "Answer with one number."},
                {"role": "user", "content": f"What is {i} plus {i + 1}?" + " Please." * (i % 3)},
                {"role": "assistant", "content": f"{2 * i + 1}"},
            ]
        }
        for i in range(n)
    ]


def dpo_rows(n: int = 4) -> list[dict[str, Any]]:
    return [
        {
            "input": {"messages": [{"role": "user", "content": f"Say hi to {name}"}]},
            "preferred_output": [{"role": "assistant", "content": f"Hi {name}!"}],
            "non_preferred_output": [{"role": "assistant", "content": "No."}],
        }
        for name in ["Ann", "Bob", "Cy", "Di"][:n]
    ]


@pytest.fixture
def chat_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", chat_rows())


@pytest.fixture
def make_job(tmp_path: Path) -> Callable[..., JobDir]:
    def make(training_path: Path, *, name: str = "ftjob-test", **overrides: Any) -> JobDir:
        spec = {
            "job_id": name,
            "base_model": "tiny-llama",
            "method": "supervised",
            "training_path": str(training_path),
            "validation_path": None,
            "hyperparameters": {
                "n_epochs": 2,
                "batch_size": 4,
                "learning_rate_multiplier": "auto",
                "beta": "auto",
                "extra": {},
            },
            "seed": 7,
            "fine_tuned_model": f"ft:tiny-llama:{name}",
            "device": "cpu",
            "init_from": None,
            "resume": False,
        }
        spec.update(overrides)
        job = JobDir(tmp_path / "jobs" / name)
        job.write_spec(spec)
        return job

    return make
