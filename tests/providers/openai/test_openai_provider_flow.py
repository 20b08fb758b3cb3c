"""OpenAIProvider end to end against `ftui serve` training a real tiny model, through a proxy that
injects latency, 429s, 500s and dropped connections."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from support.eventually import eventually
from support.faults import Fault, FaultProxy
from support.openai_provider import make_provider
from support.serve_harness import write_chat_examples

from ftui.model import ChatMessage, ChatParams, Hyperparameters, Job, JobSpec

pytestmark = pytest.mark.slow


async def test_provider_flow_survives_faults_and_never_duplicates_a_create(
    server, monkeypatch, tmp_path: Path
) -> None:
    data = write_chat_examples(tmp_path / "train.jsonl", n=10)
    with FaultProxy("127.0.0.1", urlparse(server.url).port) as proxy:
        provider = make_provider(proxy.url, monkeypatch, max_retries=3)
        proxy.inject(
            Fault("500", route=r"/files$", method="POST"),
            Fault("429", route=r"/fine_tuning/jobs$", method="POST"),
            # The create reaches the server, the job is made, the answer is lost.
            Fault("drop_response", route=r"/fine_tuning/jobs$", method="POST"),
            Fault("drop_request", route=r"/events$"),
            Fault("500", route=r"/chat/completions$"),
            Fault("latency", count=3, delay=0.1),  # faults match in order: this one takes the rest
        )
        job = await provider.create_job(
            JobSpec(
                base_model="tiny-llama",
                training_file=str(data),
                suffix="faulty",
                hyperparameters=Hyperparameters(n_epochs=1, batch_size=5),
                metadata={"who": "test"},
            )
        )
        assert job.status in ("validating_files", "queued", "running") and job.metadata["who"] == "test"
        assert len(server.client().fine_tuning.jobs.list().data) == 1  # one job, not two
        assert proxy.injected("drop_response") and proxy.injected("429") and proxy.injected("500")

        seen: list[str] = []
        last: str | None = None

        async def follow() -> Job:
            nonlocal last
            page = await provider.events(job.id, last)
            seen.extend(e.id for e in page.items)
            if page.items:
                assert page.next_cursor == page.items[-1].id
            last = page.next_cursor
            return await provider.job(job.id)

        job = await eventually(follow, lambda j: j.done, interval=0.5, what="the job ended")
        seen += [e.id for e in (await provider.events(job.id, last)).items]
        assert job.status == "succeeded", job.error
        assert len(seen) == len(set(seen)) and seen == sorted(seen)  # each event once, in order
        everything = (await provider.events(job.id)).items
        assert [e.id for e in everything] == seen
        assert any(
            e.metrics and e.metrics.train_loss is not None and e.metrics.total_steps for e in everything
        )

        checkpoints = await provider.checkpoints(job.id)
        assert checkpoints and checkpoints[0].fine_tuned_model_checkpoint.startswith(job.fine_tuned_model)
        assert checkpoints[0].metrics is not None and checkpoints[0].metrics.step == checkpoints[0].step

        pieces = [
            p
            async for p in provider.chat(
                job.fine_tuned_model,
                [ChatMessage(role="user", content="Ahoy?")],
                ChatParams(max_tokens=5, temperature=0),
            )
        ]
        assert all(isinstance(p, str) for p in pieces)
        assert proxy.injected("500")[-1].path.endswith("/chat/completions")

        assert job.fine_tuned_model in {m.id for m in await provider.fine_tuned_models()}
        await provider.delete_model(job.fine_tuned_model)
        assert job.fine_tuned_model not in {m.id for m in await provider.fine_tuned_models()}
        await provider.aclose()
