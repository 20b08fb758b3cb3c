"""Data-parallel training through the worker's launcher: two CPU processes stand in for two GPUs."""

from __future__ import annotations

import pytest
from ftui_local import worker

from .conftest import chat_rows, write_jsonl

pytestmark = pytest.mark.slow


def test_two_processes_share_the_batches_and_only_rank_zero_writes_the_job(make_job, tmp_path):
    data = write_jsonl(tmp_path / "train.jsonl", chat_rows(16))
    job = make_job(
        data,
        hyperparameters={
            "n_epochs": 2,
            "batch_size": 4,
            "learning_rate_multiplier": "auto",
            "beta": "auto",
            "extra": {},
        },
    )

    assert worker.launch_distributed(job, 2) == 0

    state = job.read_state()
    assert state["status"] == "succeeded", state.get("error")
    # 16 examples, 4 per process per step, 2 processes: 2 steps an epoch.
    assert state["step"] == 4 and state["total_steps"] == 4
    events = job.events()
    steps = [e["metrics"]["step"] for e in events if e.get("type") == "metrics"]
    assert steps == [1, 2, 3, 4]
    messages = [e["message"] for e in events]
    assert messages.count("The job has successfully completed") == 1
    assert "Training data parallel on 2 CPU processes" in messages
    kept = sorted(c.name for c in job.checkpoints_dir.glob("checkpoint-*"))
    assert kept == ["checkpoint-2", "checkpoint-4"]
    assert (job.adapter_dir / "adapter_model.safetensors").exists()
    assert state["trained_tokens"] > 0
