"""The script a user copies from OpenAI's fine-tuning guide, run unchanged against `ftui serve`
(only base_url differs), training a real tiny model on this machine."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import openai
import pytest
from ftui_local.jobs import worker_alive
from support.eventually import eventually_sync
from support.serve_harness import TERMINAL, serve, wait_for, write_chat_examples

pytestmark = pytest.mark.slow


def test_openai_tutorial_flow_trains_chats_and_deletes_a_model(local_provider, tmp_path: Path) -> None:
    data = write_chat_examples(tmp_path / "pirate.jsonl", n=12)
    with serve(local_provider) as s:
        client = s.client()
        with open(data, "rb") as fh:
            training = client.files.create(file=fh, purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            training_file=training.id,
            model="tiny-llama",
            suffix="pirate",
            seed=7,
            method={
                "type": "supervised",
                "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 4}},
            },
            metadata={"team": "a b"},
        )
        assert job.id.startswith("ftjob-") and job.status in ("validating_files", "queued", "running")
        assert job.error is not None and job.error.code is None  # `{}` on a healthy job, as OpenAI
        assert job.seed == 7 and job.fine_tuned_model is None and job.result_files == []

        # Follow events the way scripts do: newest first, remember what was printed.
        printed: dict[str, openai.types.fine_tuning.FineTuningJobEvent] = {}

        def follow() -> openai.types.fine_tuning.FineTuningJob:
            for event in reversed(client.fine_tuning.jobs.list_events(job.id, limit=50).data):
                printed.setdefault(event.id, event)
            return client.fine_tuning.jobs.retrieve(job.id)

        job = eventually_sync(follow, lambda j: j.status in TERMINAL, interval=0.5, what="the job ended")
        for event in client.fine_tuning.jobs.list_events(job.id, limit=100):  # auto-paginates
            printed.setdefault(event.id, event)
        assert job.status == "succeeded", job.error

        assert job.fine_tuned_model.startswith("ft:tiny-llama:local:pirate:")
        assert job.trained_tokens and job.finished_at >= job.created_at
        assert job.hyperparameters.n_epochs == 2 and job.hyperparameters.learning_rate_multiplier != "auto"
        metrics = [e for e in printed.values() if e.type == "metrics"]
        assert metrics and {"step", "total_steps", "train_loss", "train_mean_token_accuracy"} <= set(
            metrics[0].data
        )
        assert any(e.message == "The job has successfully completed" for e in printed.values())

        # Event cursors: `after` is exclusive and walks towards older events.
        newest = client.fine_tuning.jobs.list_events(job.id, limit=2)
        older = client.fine_tuning.jobs.list_events(job.id, limit=2, after=newest.data[-1].id)
        assert newest.has_more and newest.data[-1].id not in [e.id for e in older.data]
        assert older.data[0].created_at <= newest.data[-1].created_at

        # The result file: base64 of a CSV of step metrics.
        result = client.files.retrieve(job.result_files[0])
        assert result.purpose == "fine-tune-results"
        rows = list(
            csv.DictReader(io.StringIO(base64.b64decode(client.files.content(result.id).read()).decode()))
        )
        assert rows and set(rows[0]) >= {
            "step",
            "train_loss",
            "train_accuracy",
            "valid_loss",
            "valid_mean_token_accuracy",
        }

        checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert checkpoints and checkpoints[0].step_number > checkpoints[-1].step_number  # newest first
        assert checkpoints[0].id.startswith("ftckpt_")
        assert checkpoints[0].fine_tuned_model_checkpoint.startswith(job.fine_tuned_model + ":ckpt-step-")

        models = {m.id: m for m in client.models.list()}
        assert models[job.fine_tuned_model].owned_by == "local" and models["tiny-llama"].owned_by == "system"
        assert client.models.retrieve(job.fine_tuned_model).id == job.fine_tuned_model

        reply = client.chat.completions.create(
            model=job.fine_tuned_model,
            messages=[{"role": "user", "content": "What is 3 plus 3?"}],
            max_completion_tokens=8,
            temperature=0,
        )
        assert reply.choices[0].message.role == "assistant" and reply.choices[0].finish_reason
        assert reply.usage.completion_tokens >= 0 and reply.id.startswith("chatcmpl-")
        chunks = list(
            client.chat.completions.create(
                model=checkpoints[-1].fine_tuned_model_checkpoint,
                messages=[{"role": "user", "content": "Ahoy?"}],
                max_completion_tokens=6,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert chunks[0].choices[0].delta.role == "assistant"
        assert chunks[-2].choices[0].finish_reason in ("stop", "length")
        assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
        base = client.chat.completions.create(
            model="tiny-llama", max_completion_tokens=4, messages=[{"role": "user", "content": "hi"}]
        )
        assert base.model == "tiny-llama"

        assert [j.id for j in client.fine_tuning.jobs.list(metadata={"team": "a b"})] == [job.id]
        assert client.fine_tuning.jobs.list(metadata={"team": "other"}).data == []
        with pytest.raises(openai.BadRequestError):
            client.fine_tuning.jobs.cancel(job.id)

        deleted = client.models.delete(job.fine_tuned_model)
        assert deleted.deleted and deleted.id == job.fine_tuned_model
        assert job.fine_tuned_model not in {m.id for m in client.models.list()}
        with pytest.raises(openai.NotFoundError) as retrieved:
            client.models.retrieve(job.fine_tuned_model)
        # Chat on the deleted model says exactly what the models route says.
        with pytest.raises(openai.NotFoundError) as chatted:
            client.chat.completions.create(
                model=job.fine_tuned_model, messages=[{"role": "user", "content": "hi"}]
            )
        assert chatted.value.body == retrieved.value.body
        assert chatted.value.code == "model_not_found"


def test_a_job_running_when_the_server_stops_finishes_and_is_seen_after_restart(
    local_provider, tmp_path: Path
) -> None:
    data = write_chat_examples(tmp_path / "train.jsonl", n=10)
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=data, purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            model="tiny-llama", training_file=f.id, hyperparameters={"n_epochs": 1, "batch_size": 5}
        )
    # The server is gone; the worker is not. A new server picks the job up where it is.
    with serve(local_provider) as s:
        client = s.client()
        assert client.files.retrieve(f.id).id == f.id
        done = wait_for(client, job.id)
        assert done.status == "succeeded", done.error
        assert client.fine_tuning.jobs.list().data[0].id == job.id


def started_training(client, job_id: str) -> None:
    """Wait, as a script would, until the job has logged real steps."""
    eventually_sync(
        lambda: client.fine_tuning.jobs.list_events(job_id, limit=50).data,
        lambda events: any(e.type == "metrics" for e in events),
        fail=lambda _: (
            "the job ended before it trained"
            if client.fine_tuning.jobs.retrieve(job_id).status in TERMINAL
            else None
        ),
        what="first training steps",
    )


def test_pause_keeps_a_checkpoint_and_resume_finishes_the_job(local_provider, tmp_path: Path) -> None:
    data = write_chat_examples(tmp_path / "train.jsonl", n=16)
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=data, purpose="fine-tune")
        # 40 steps: the pause asked for after the first one lands long before the last.
        job = client.fine_tuning.jobs.create(
            model="tiny-llama", training_file=f.id, hyperparameters={"n_epochs": 10, "batch_size": 4}
        )
        started_training(client, job.id)
        assert client.fine_tuning.jobs.pause(job.id).status in ("running", "paused")
        paused = eventually_sync(
            lambda: client.fine_tuning.jobs.retrieve(job.id),
            lambda j: j.status == "paused",
            fail=lambda j: f"the job ended {j.status} instead of pausing" if j.status in TERMINAL else None,
            what="the job paused",
        )
        assert paused.status == "paused"
        assert client.fine_tuning.jobs.checkpoints.list(job.id).data  # pause kept a checkpoint
        resumed = client.fine_tuning.jobs.resume(job.id)
        assert resumed.status in ("queued", "running")
        done = wait_for(client, job.id)
        assert done.status == "succeeded", done.error


def test_cancel_answers_cancelled_at_once_and_the_job_stays_cancelled(local_provider, tmp_path: Path) -> None:
    data = write_chat_examples(tmp_path / "train.jsonl", n=16)
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=data, purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            model="tiny-llama", training_file=f.id, hyperparameters={"n_epochs": 50, "batch_size": 1}
        )
        started_training(client, job.id)
        worker = local_provider.manager.dir(job.id).read_state()["worker_pid"]
        cancelled = client.fine_tuning.jobs.cancel(job.id)
        assert cancelled.status == "cancelled" and cancelled.fine_tuned_model is None
        assert not worker_alive(job.id, worker)  # gone before the reply
        assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
        assert job.fine_tuned_model not in {m.id for m in client.models.list()}
        with pytest.raises(openai.BadRequestError):
            client.fine_tuning.jobs.cancel(job.id)
