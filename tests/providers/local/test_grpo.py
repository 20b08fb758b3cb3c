"""Reinforcement fine-tuning on the local trainer (GRPO on LoRA, graders as rewards): a tiny model's
reward rises on a toy task (lower-case answers that contain a keyword), through the CLI with a kill -9
and resume, and through `ftui serve` with the real openai SDK with a pause and resume."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from support.eventually import eventually_sync
from support.run_cli import ftui
from support.serve_harness import TERMINAL, serve, wait_for

from ftui.model import MetricPoint
from ftui.provider import collect

pytestmark = pytest.mark.slow

LOWER = (
    "def grade(sample, item):\n"
    "    text = sample['output_text']\n"
    "    return sum(c.islower() and c.isascii() for c in text) / max(1, len(text))\n"
)
TOY_GRADER = {
    "type": "multi",
    "name": "toy",
    "graders": {
        "lower": {"type": "python", "name": "lower", "source": LOWER},
        "keyword": {
            "type": "string_check",
            "name": "keyword",
            "input": "{{sample.output_text}}",
            "reference": "{{item.keyword}}",
            "operation": "like",
        },
    },
    "calculate_output": "0.5 * lower + 0.5 * keyword",
}
# A tiny random model learns fast only with its output layer trained too (it is tied to the inputs,
# whose scale caps what LoRA alone can do), a high learning rate and short answers. With four
# samples per prompt the run is seed-sensitive (the same seed gives the same run): seed 2 rises
# clearly; eight samples per prompt rise for every seed tried, at twice the cost.
TINY = {"lora_modules_to_save": "lm_head", "max_completion_length": 16}


def write_prompts(path: Path, n: int = 10, start: int = 0) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"Question {i}: answer in lower case."}], "keyword": "a"}
        for i in range(start, start + n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def rewards(points: list[MetricPoint], key: str = "train_mean_reward") -> list[float]:
    return [p.extra[key] for p in points if key in p.extra]


def assert_reward_rose(values: list[float]) -> None:
    assert len(values) >= 12, values
    first, last = sum(values[:4]) / 4, sum(values[-4:]) / 4
    assert last > first + 0.15, f"reward did not rise: first {first:.3f}, last {last:.3f}: {values}"


def metric_points(provider: Any, job_id: str) -> list[MetricPoint]:
    events = asyncio.run(collect(lambda cursor: provider.events(job_id, cursor)))
    by_step: dict[int, MetricPoint] = {}
    for e in events:
        if e.metrics is not None:
            by_step[e.metrics.step] = e.metrics  # a resumed run logs its steps again
    return [by_step[s] for s in sorted(by_step)]


def test_grpo_job_from_the_cli_raises_the_reward_and_survives_kill_9(local_provider, tmp_path: Path):
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(TOY_GRADER))
    train = write_prompts(tmp_path / "train.jsonl")
    code, out, err = ftui(
        "jobs", "create", "-m", "tiny-llama", "-t", str(train), "--method", "reinforcement",
        "--grader", str(grader), "--epochs", "5", "--batch-size", "2", "--lr-multiplier", "500",
        "--hp", "lora_modules_to_save=lm_head", "--hp", "max_completion_length=16", "--seed", "2", "--json",
    )  # fmt: skip
    assert code == 0, err
    job_id = json.loads(out)["id"]

    # kill -9 once the first epoch's checkpoint exists: the job reads as died and resumes from it.
    eventually_sync(lambda: asyncio.run(local_provider.checkpoints(job_id)), what="a first checkpoint")
    os.killpg(asyncio.run(local_provider.job(job_id)).raw["state"]["worker_pid"], signal.SIGKILL)
    died = eventually_sync(lambda: asyncio.run(local_provider.job(job_id)), lambda j: j.done, what="death")
    assert died.status == "failed" and died.error and died.error.code == "worker_died"
    code, _, err = ftui("jobs", "resume", job_id)
    assert code == 0, err

    done = eventually_sync(lambda: asyncio.run(local_provider.job(job_id)), lambda j: j.done, timeout=300)
    assert done.status == "succeeded", done.error
    assert done.method == "reinforcement" and done.fine_tuned_model
    points = metric_points(local_provider, job_id)
    assert_reward_rose(rewards(points))
    # One reward function per sub-grader of the weighted sum: each one's reward is logged.
    assert rewards(points, "rewards/lower/mean") and rewards(points, "rewards/keyword/mean")
    assert all(p.extra.get("errors/lower") == 0.0 for p in points)
    messages = [e.message for e in asyncio.run(collect(lambda c: local_provider.events(job_id, c)))]
    assert any("resumed from the checkpoint" in m for m in messages)
    assert any("train mean reward=" in m for m in messages)
    # The trained model answers.
    code, out, err = ftui(
        "chat", "-m", done.fine_tuned_model, "--temperature", "0", "--max-tokens", "8", "hi"
    )
    assert code == 0 and out.strip(), err


def test_a_bad_grader_never_becomes_a_job(local_provider, tmp_path: Path):
    train = write_prompts(tmp_path / "train.jsonl")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TOY_GRADER, "calculate_output": "lower + nope"}))
    code, _, err = ftui("jobs", "create", "-m", "tiny-llama", "-t", str(train), "--method", "reinforcement",
                        "--grader", str(bad))  # fmt: skip
    assert code == 2 and "calculate_output" in err and "unknown name 'nope'" in err
    code, _, err = ftui("jobs", "create", "-m", "tiny-llama", "-t", str(train), "--method", "reinforcement")
    assert code == 2 and "needs --grader" in err
    assert asyncio.run(local_provider.jobs()).items == []


def test_serve_runs_openai_reinforcement_jobs_with_graders_through_the_sdk(local_provider, tmp_path: Path):
    grader = {"type": "python", "name": "lower_with_a", "source": LOWER.replace(
        "    return ", "    return 0.5 * ('a' in text) + 0.5 * ")}  # fmt: skip
    with serve(local_provider) as s:
        client = s.client()
        with open(write_prompts(tmp_path / "train.jsonl"), "rb") as fh:
            training = client.files.create(file=fh, purpose="fine-tune")
        with open(write_prompts(tmp_path / "valid.jsonl", start=100), "rb") as fh:
            validation = client.files.create(file=fh, purpose="fine-tune")
        hyper = {"n_epochs": 5, "batch_size": 2, "learning_rate_multiplier": 500, "eval_interval": 12, **TINY}
        job = client.fine_tuning.jobs.create(
            model="tiny-llama",
            training_file=training.id,
            validation_file=validation.id,
            seed=2,
            method={"type": "reinforcement", "reinforcement": {"grader": grader, "hyperparameters": hyper}},
        )
        assert job.method.type == "reinforcement"
        assert job.method.reinforcement.grader.source == grader["source"]  # the grader, unchanged

        def step() -> int:
            events = client.fine_tuning.jobs.list_events(job.id, limit=5).data
            return max((int(e.data["step"]) for e in events if e.type == "metrics"), default=0)

        eventually_sync(step, lambda n: n >= 3, what="three steps")
        paused = client.fine_tuning.jobs.pause(job.id)
        assert paused.status in ("running", "paused")
        eventually_sync(lambda: client.fine_tuning.jobs.retrieve(job.id).status, lambda st: st == "paused")
        client.fine_tuning.jobs.resume(job.id)
        done = wait_for(client, job.id, timeout=300)
        assert done.status == "succeeded", done.error
        assert done.status in TERMINAL and done.fine_tuned_model

        events = list(client.fine_tuning.jobs.list_events(job.id, limit=100))
        data = sorted((e.data for e in events if e.type == "metrics"), key=lambda d: d["step"])
        train = {d["step"]: d["train_mean_reward"] for d in data if "train_mean_reward" in d}
        assert_reward_rose([train[k] for k in sorted(train)])
        assert any("full_valid_mean_reward" in d for d in data)
        assert any(d.get("scores", {}).get("graders", [{}])[0].get("name") == "lower_with_a" for d in data)
