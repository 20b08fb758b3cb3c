"""Crash recovery: a worker killed with SIGKILL leaves a resumable job, and scheduling is race-free."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from ftui_local.jobdir import utcnow, write_json_atomic
from ftui_local.jobs import JobManager
from ftui_local.provider import LocalProvider
from ftui_local.settings import LocalSettings
from support.eventually import eventually
from support.factories import write_dataset

from ftui.model import Hyperparameters, Job, JobSpec


async def wait_for(provider: LocalProvider, job_id: str, statuses: set[str]) -> Job:
    return await eventually(
        lambda: provider.job(job_id), lambda job: job.status in statuses, what=f"job in {sorted(statuses)}"
    )


def queued_job(manager: JobManager, status: str = "queued", **state: object) -> str:
    jd = manager.new_dir()
    jd.write_spec(
        {
            "job_id": jd.job_id,
            "base_model": "tiny-llama",
            "method": "supervised",
            "training_path": "/nonexistent.jsonl",
            "fine_tuned_model": "ft:x:local::y",
        }
    )
    write_json_atomic(jd.state_path, {"status": status, "created_at": utcnow(), **state})
    return jd.job_id


@pytest.mark.slow
async def test_sigkilled_worker_reads_as_died_and_resume_continues_from_the_last_checkpoint(
    tmp_path: Path,
) -> None:
    provider = LocalProvider(LocalSettings(device="cpu"))
    job = await provider.create_job(
        JobSpec(
            base_model="tiny-llama",
            training_file=str(write_dataset(tmp_path / "train.jsonl")),
            hyperparameters=Hyperparameters(n_epochs=3, batch_size=2, extra={"lora_r": 4}),
        )
    )
    await eventually(  # the first epoch (5 steps) is done
        lambda: provider.checkpoints(job.id), what="a first checkpoint", interval=0.05
    )
    os.killpg((await provider.job(job.id)).raw["state"]["worker_pid"], signal.SIGKILL)

    died = await wait_for(provider, job.id, {"failed", "succeeded"})
    assert died.status == "failed"
    assert died.error is not None and died.error.code == "worker_died"
    assert f"ftui jobs resume {job.id}" in died.error.message
    saved = [c.step for c in await provider.checkpoints(job.id)]
    assert saved and saved[0] < 15  # killed mid-run
    last = saved[0]
    before = {e.id for e in (await provider.events(job.id)).items}

    await provider.resume(job.id)
    done = await wait_for(provider, job.id, {"succeeded", "failed", "cancelled"})
    assert done.status == "succeeded", done.error
    assert done.error is None
    new = [e for e in (await provider.events(job.id)).items if e.id not in before]
    assert any(f"resumed from the checkpoint at step {last}" in e.message for e in new)
    steps_after = [e.metrics.step for e in new if e.metrics]
    assert steps_after and min(steps_after) > last  # no completed step was trained again
    assert max(c.step for c in await provider.checkpoints(job.id)) == 15


def test_running_job_whose_pid_now_belongs_to_another_program_reads_as_died() -> None:
    manager = JobManager()
    job_id = queued_job(manager, status="running", worker_pid=os.getpid())  # pytest: not a worker
    manager.schedule()
    state = manager.dir(job_id).read_state()
    assert state["status"] == "failed"
    assert state["error"]["code"] == "worker_died"
    assert "from the beginning" in state["error"]["message"]  # no checkpoint yet


def test_queued_job_is_started_once_when_two_processes_schedule_at_the_same_time() -> None:
    job_id = queued_job(JobManager())
    barrier = threading.Barrier(4)
    started: list[list[str]] = []

    def schedule() -> None:
        barrier.wait()
        started.append(JobManager().schedule())  # each opens its own lock: as separate processes do

    threads = [threading.Thread(target=schedule) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(started, key=len) == [[], [], [], [job_id]]


def test_paused_queued_job_is_never_started_and_resume_queues_it_again() -> None:
    manager = JobManager(max_concurrent=0)  # no free slot: nothing starts a real worker here
    job_id = queued_job(manager)
    manager.pause(job_id)
    assert manager.dir(job_id).read_state()["status"] == "paused"
    assert JobManager(max_concurrent=5).schedule() == []
    manager.resume(job_id)
    state = manager.dir(job_id).read_state()
    assert state["status"] == "queued"
    assert manager.dir(job_id).read_spec()["resume"] is False  # nothing to resume from yet
