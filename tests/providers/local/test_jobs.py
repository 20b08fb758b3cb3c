"""The local job manager end to end: real detached workers training tiny-llama for a few steps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ftui_local.jobs import JobManager, jobs_root, worker_alive
from ftui_local.provider import LocalProvider
from ftui_local.settings import LocalSettings
from support.eventually import eventually
from support.factories import write_dataset

from ftui.errors import ProviderError
from ftui.model import ChatMessage, ChatParams, Hyperparameters, Job, JobSpec

pytestmark = pytest.mark.slow


def spec(path: Path, epochs: int = 2, batch_size: int = 5) -> JobSpec:
    return JobSpec(
        base_model="tiny-llama",
        training_file=str(path),
        hyperparameters=Hyperparameters(n_epochs=epochs, batch_size=batch_size, extra={"lora_r": 4}),
    )


async def wait_for(provider: LocalProvider, job_id: str, statuses: set[str]) -> Job:
    return await eventually(
        lambda: provider.job(job_id),
        lambda job: job.status in statuses,
        what=f"job {job_id} in {sorted(statuses)}",
    )


async def wait_for_checkpoint(provider: LocalProvider, job_id: str) -> None:
    async def probe() -> tuple[bool, Job]:
        return bool(await provider.checkpoints(job_id)), await provider.job(job_id)

    await eventually(
        probe,
        lambda found: found[0],
        fail=lambda found: (
            f"job ended ({found[1].status}) before its first checkpoint" if found[1].done else None
        ),
        what="a first checkpoint",
    )


@pytest.fixture
def provider() -> LocalProvider:
    return LocalProvider(LocalSettings(device="cpu"))


async def test_job_runs_in_a_detached_worker_to_succeeded_with_events_and_checkpoints(
    provider: LocalProvider, tmp_path: Path
) -> None:
    job = await provider.create_job(spec(write_dataset(tmp_path / "train.jsonl")))
    assert job.id.startswith("ftjob-") and len(job.id) == 30
    assert job.status in {"queued", "running"}
    pid = (await provider.job(job.id)).raw["state"]["worker_pid"]
    assert os.getsid(pid) != os.getsid(0)  # its own session: closing our terminal does not stop it

    job = await wait_for(provider, job.id, {"succeeded", "failed", "cancelled"})
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model == f"ft:tiny-llama:local::{job.id[6:14]}"
    assert job.progress == 1.0 and job.finished_at is not None
    assert job.raw["spec"]["training_path"].startswith(str(jobs_root()))  # trained on its own copy

    events = (await provider.events(job.id)).items
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    messages = [e.message for e in events]
    assert any("successfully completed" in m for m in messages)
    assert (await provider.events(job.id, events[-1].id)).items == []
    assert (await provider.events(job.id, events[0].id)).items == events[1:]

    ckpts = await provider.checkpoints(job.id)
    assert [c.step for c in ckpts] == [4, 2]  # one per epoch, newest first
    assert ckpts[0].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-4"
    assert (await provider.jobs()).items[0].id == job.id
    assert [m.id for m in await provider.fine_tuned_models()] == [job.fine_tuned_model]

    # Both the model and each checkpoint are chat-able: base weights plus that adapter.
    hello = [ChatMessage(role="user", content="Question 1?")]
    for name in (job.fine_tuned_model, ckpts[1].fine_tuned_model_checkpoint):
        pieces = [p async for p in provider.chat(name, hello, ChatParams(temperature=0, max_tokens=6))]
        assert len(pieces) > 1


async def test_jobs_queue_one_at_a_time_and_cancel_stops_running_and_queued_jobs(
    provider: LocalProvider, tmp_path: Path
) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    first = await provider.create_job(spec(data, epochs=20))
    second = await provider.create_job(spec(data))
    third = await provider.create_job(spec(data))
    assert [(await provider.job(j.id)).status for j in (first, second, third)] == [
        "running",
        "queued",
        "queued",
    ]
    assert [j.id for j in (await provider.jobs()).items] == [third.id, second.id, first.id]  # newest first
    page = await provider.jobs(limit=1)
    assert [j.id for j in page.items] == [third.id] and page.next_cursor
    page = await provider.jobs(cursor=page.next_cursor, limit=1)
    assert [j.id for j in page.items] == [second.id]

    assert (await provider.cancel(third.id)).status == "cancelled"  # never started: at once
    await wait_for_checkpoint(provider, first.id)
    worker = (await provider.job(first.id)).raw["state"]["worker_pid"]
    job = await provider.cancel(first.id)
    # Cancelled in the reply, as OpenAI's is, and true: the worker is already gone.
    assert job.status == "cancelled" and job.fine_tuned_model is None
    assert not worker_alive(first.id, worker)
    assert (await provider.job(first.id)).status == "cancelled"
    with pytest.raises(ProviderError) as err:
        await provider.resume(first.id)
    assert err.value.code == "invalid_state" and "init_from" in str(err.value)
    with pytest.raises(ProviderError):
        await provider.cancel(first.id)

    # Read the folder, not the provider (whose calls also schedule): the cancel itself hands the
    # slot on to the next queued job.
    state_path = jobs_root() / second.id / "state.json"
    await eventually(
        lambda: json.loads(state_path.read_text())["status"] != "queued", what="next job started"
    )
    assert (await provider.job(second.id)).status in {"running", "succeeded"}
    assert (await provider.job(third.id)).status == "cancelled"


async def test_pause_keeps_a_checkpoint_and_resume_finishes_the_job(
    provider: LocalProvider, tmp_path: Path
) -> None:
    job = await provider.create_job(spec(write_dataset(tmp_path / "train.jsonl"), epochs=3))
    await wait_for_checkpoint(provider, job.id)
    await provider.pause(job.id)
    paused = await wait_for(provider, job.id, {"paused", "succeeded", "failed"})
    assert paused.status == "paused"
    paused_at = max(c.step for c in await provider.checkpoints(job.id))

    resumed = await provider.resume(job.id)
    assert resumed.status in {"queued", "running"}
    assert JobManager().dir(job.id).read_spec()["resume"] is True
    done = await wait_for(provider, job.id, {"succeeded", "failed", "cancelled"})
    assert done.status == "succeeded", done.error
    assert max(c.step for c in await provider.checkpoints(job.id)) == 6
    messages = [e.message for e in (await provider.events(job.id)).items]
    assert any(f"resumed from the checkpoint at step {paused_at}" in m for m in messages)
