"""A job keeps what it needs: deleting its uploaded file while it trains does not fail it; and no
response ever carries a path on the server (tiny-llama, real training)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from support.eventually import eventually_sync
from support.serve_harness import TERMINAL, serve, wait_for, write_chat_examples

from ftui.paths import data_dir

pytestmark = pytest.mark.slow


def test_deleting_the_training_file_while_the_job_trains_does_not_fail_it(
    local_provider, tmp_path: Path
) -> None:
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=write_chat_examples(tmp_path / "t.jsonl", n=12), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            model="tiny-llama",
            training_file=f.id,
            hyperparameters={"n_epochs": 1, "batch_size": 4},
        )
        eventually_sync(lambda: client.fine_tuning.jobs.retrieve(job.id).status, lambda st: st != "queued")
        assert client.files.delete(f.id).deleted
        done = wait_for(client, job.id)
        assert done.status == "succeeded", done.error
        assert done.training_file == f.id  # the job still names what it was given


def test_a_failed_jobs_error_and_events_name_no_server_path(local_provider, tmp_path: Path) -> None:
    from ftui_local.jobs import kill_workers

    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=write_chat_examples(tmp_path / "t.jsonl", n=12), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            model="tiny-llama", training_file=f.id, hyperparameters={"n_epochs": 50, "batch_size": 1}
        )
        eventually_sync(lambda: client.fine_tuning.jobs.retrieve(job.id).status, lambda st: st == "running")
        kill_workers()
        failed = eventually_sync(
            lambda: client.fine_tuning.jobs.retrieve(job.id), lambda j: j.status in TERMINAL
        )
        assert failed.status == "failed" and failed.error.code == "worker_died"
        assert "worker.log" in failed.error.message  # the file is named, its folder is not
        home = str(data_dir().parent)
        for path in (
            f"/fine_tuning/jobs/{job.id}",
            f"/fine_tuning/jobs/{job.id}/events?limit=100",
            "/fine_tuning/jobs",
        ):
            body = httpx2.get(s.url + path, headers={"authorization": "Bearer test-key"}).text
            assert home not in body and "/local/jobs/" not in body, body[:500]
        json.loads(body)
