"""`ftui jobs` on the local provider, through the real entry point, with real detached workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.eventually import eventually_sync
from support.factories import write_dataset
from support.run_cli import ftui

from ftui import hookimpl
from ftui.model import Job
from ftui.plugins import registry


class FinishedJobs:
    def __init__(self) -> None:
        self.seen: list[Job] = []

    @hookimpl
    def ftui_job_finished(self, job: Job) -> None:
        self.seen.append(job)


@pytest.fixture
def finished() -> Iterator[FinishedJobs]:
    plugin = FinishedJobs()
    registry().pm.register(plugin, name="test-finished-jobs")
    yield plugin
    registry().pm.unregister(name="test-finished-jobs")


@pytest.mark.slow
def test_create_wait_trains_shows_falling_loss_and_exits_0(tmp_path: Path, finished: FinishedJobs) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    code, out, err = ftui(
        "jobs",
        "create",
        "--model",
        "tiny-llama",
        "--training-file",
        str(data),
        "--epochs",
        "2",
        "--batch-size",
        "5",
        "--hp",
        "lora_r=4",
        "--suffix",
        "cli",
        "--wait",
        "--interval",
        "0.2",
    )
    assert code == 0, out + err
    assert "Created job ftjob-" in out
    assert "step 1/4" in out and "loss" in out
    assert "succeeded: model ft:tiny-llama:local:cli:" in out
    job_id = out.split("Created job ")[1].split()[0]
    assert [j.id for j in finished.seen] == [job_id]  # notified once...

    code, out, _ = ftui("jobs", "watch", job_id)
    assert code == 0 and "succeeded" in out
    assert len(finished.seen) == 1  # ...however many times it is seen finished

    code, out, _ = ftui("jobs", "list")
    assert code == 0 and job_id in out and "succeeded" in out
    code, out, _ = ftui("jobs", "show", job_id, "--json")
    shown = json.loads(out)
    assert shown["status"] == "succeeded" and shown["hyperparameters"]["n_epochs"] == 2
    code, out, _ = ftui("jobs", "show", job_id)
    assert "fine-tuned model  ft:tiny-llama:local:cli:" in out
    code, out, _ = ftui("jobs", "events", job_id, "--json")
    events = json.loads(out)
    losses = [e["metrics"]["train_loss"] for e in events if e["metrics"] and e["metrics"]["train_loss"]]
    assert len(losses) == 4
    code, out, _ = ftui("jobs", "checkpoints", job_id)
    assert code == 0 and ":ckpt-step-4" in out and ":ckpt-step-2" in out
    code, _, err = ftui("jobs", "resume", job_id)
    assert code == 1 and "only paused jobs" in err


def test_invalid_dataset_prints_each_problem_and_creates_no_job(tmp_path: Path) -> None:
    bad = write_dataset(tmp_path / "bad.jsonl")
    with bad.open("a") as fh:
        fh.write("{not json\n")
    code, _, err = ftui("jobs", "create", "--model", "tiny-llama", "--training-file", str(bad))
    assert code == 1
    assert f"{bad}:11:" in err and "no job was created" in err and "Traceback" not in err
    assert ftui("jobs", "list", "--json")[1].strip() == "[]"


def test_create_refuses_an_unknown_model_and_a_missing_file(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    code, _, err = ftui("jobs", "create", "--model", "nope", "--training-file", str(data))
    assert code == 1 and "unknown model 'nope'" in err
    code, _, err = ftui("jobs", "create", "--model", "tiny-llama", "--training-file", "missing.jsonl")
    assert code == 2 and "missing.jsonl is not a file" in err


@pytest.mark.slow
def test_watch_exits_1_when_the_job_is_cancelled(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    code, out, _ = ftui(
        "jobs",
        "create",
        "--model",
        "tiny-llama",
        "--training-file",
        str(data),
        "--epochs",
        "20",
        "--batch-size",
        "5",
        "--json",
    )
    assert code == 0
    job_id = json.loads(out)["id"]
    eventually_sync(lambda: '"step"' in ftui("jobs", "events", job_id, "--json")[1], what="training began")
    code, out, _ = ftui("jobs", "cancel", job_id)
    assert code == 0 and job_id in out
    code, out, _ = ftui("jobs", "watch", job_id, "--interval", "0.2")
    assert code == 1 and f"Job {job_id} cancelled" in out
    code, out, _ = ftui("jobs", "events", job_id, "--follow", "--interval", "0.1")
    assert code == 0 and "Cancellation requested" in out and "cancelled" in out.splitlines()[-1]


def test_dry_run_validates_and_prices_the_run_but_creates_nothing(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    code, out, err = ftui("jobs", "create", "--model", "tiny-llama", "-t", str(data), "--dry-run", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["created"] is False and body["estimate"]["total"] == 0.0
    assert "nothing is billed" in body["estimate"]["basis"]
    assert json.loads(ftui("jobs", "list", "--json")[1]) == []


def test_dry_run_on_openai_quotes_the_price_file_with_its_source_and_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Offline: pricing needs no backend call (the base URL is never reached).
    config = tmp_path / "config.toml"
    config.write_text(
        '[profiles.remote]\nprovider = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "FTUI_TEST_KEY"\n'
    )
    monkeypatch.setenv("FTUI_TEST_KEY", "sk-test")
    data = write_dataset(tmp_path / "train.jsonl", n=60)  # 60 examples: "auto" means 3 epochs
    args = ("--config", str(config), "-p", "remote", "jobs", "create", "-t", str(data), "--dry-run")
    code, out, err = ftui(*args, "--model", "gpt-4o-mini-2024-07-18")
    assert code == 0, err
    assert "Estimated cost: ≈ $" in out and "3 epochs ×" in out and "$3.00 / 1M" in out
    assert "OpenAI pricing page" in out and "2026-11" in out
    assert "no job was created" in out

    code, out, _ = ftui(*args, "--model", "gpt-4o-mini-2024-07-18", "--epochs", "2", "--json")
    estimate = json.loads(out)["estimate"]
    assert estimate["basis"].startswith("2 epochs ×")
    assert estimate["total"] == round(estimate["billed_tokens"] * 3.0 / 1e6, 4)
