"""LocalProvider's verbs: files, job creation checks, model names, chat on base/fine-tuned/checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ftui_local.jobdir import utcnow, write_json_atomic
from ftui_local.jobs import jobs_root
from ftui_local.naming import checkpoint_name, fine_tuned_name, parse_fine_tuned
from ftui_local.provider import LocalProvider
from ftui_local.settings import LocalSettings

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import ChatMessage, ChatParams, Job, JobSpec

GREEDY = ChatParams(temperature=0, max_tokens=8)
HELLO = [ChatMessage(role="user", content="Question 1?")]


def write_dataset(path: Path, n: int = 10) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": f"Ahoy! Answer {i}, matey."},
            ]
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def provider() -> LocalProvider:
    return LocalProvider(LocalSettings(device="cpu"))


async def collect(p: LocalProvider, model: str, params: ChatParams = GREEDY) -> str:
    return "".join([piece async for piece in p.chat(model, HELLO, params)])


@pytest.fixture
def finished_job() -> Job:
    """A finished job folder as the worker leaves it: a real (untrained) LoRA adapter as the final
    model and as the step-2 checkpoint. Training itself is covered in test_jobs.py."""
    from ftui_local import models
    from ftui_local.jobs import JobManager
    from peft import LoraConfig, get_peft_model

    manager = JobManager()
    jd = manager.new_dir()
    model = get_peft_model(
        models.load_model("tiny-llama", "cpu"),
        LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False),
    )
    model.save_pretrained(str(jd.adapter_dir))
    model.save_pretrained(str(jd.checkpoints_dir / "checkpoint-2"))
    jd.add_checkpoint(2, jd.checkpoints_dir / "checkpoint-2", {"step": 2, "train_loss": 1.5})
    jd.write_spec(
        {
            "job_id": jd.job_id,
            "base_model": "tiny-llama",
            "method": "supervised",
            "suffix": "pirate",
            "hyperparameters": {},
            "fine_tuned_model": fine_tuned_name("tiny-llama", "pirate", jd.job_id),
        }
    )
    write_json_atomic(jd.state_path, {"status": "succeeded", "created_at": utcnow(), "finished_at": utcnow()})
    return manager.to_job(jd)


def test_model_names_round_trip_openai_style() -> None:
    name = fine_tuned_name("smollm2-135m-instruct", "my bot", "ftjob-Abcdefgh12345678ijklmnop")
    assert name == "ft:smollm2-135m-instruct:local:my-bot:Abcdefgh"
    ref = parse_fine_tuned(checkpoint_name(name, 12))
    assert ref is not None and (ref.name, ref.base, ref.short, ref.step) == (
        name,
        "smollm2-135m-instruct",
        "Abcdefgh",
        12,
    )
    assert parse_fine_tuned("ft:gpt-4o-mini:org::abc") is None
    assert parse_fine_tuned("tiny-llama") is None


async def test_upload_copies_the_file_lists_reads_and_deletes_it(tmp_path: Path) -> None:
    p = provider()
    src = write_dataset(tmp_path / "train.jsonl")
    seen: list[tuple[int, int]] = []
    remote = await p.upload(src, progress=lambda done, total: seen.append((done, total)))
    assert remote.id.startswith("file-") and len(remote.id) == 29
    assert remote.bytes == src.stat().st_size and remote.filename == "train.jsonl"
    assert seen[-1] == (remote.bytes, remote.bytes)
    src.write_text("changed later\n")  # the upload is a copy
    assert [f.id for f in (await p.files()).items] == [remote.id]
    assert (await p.file_content(remote.id)).startswith(b'{"messages"')
    await p.delete_file(remote.id)
    assert (await p.files()).items == []
    with pytest.raises(NotFound):
        await p.file_content(remote.id)
    with pytest.raises(NotFound):
        await p.delete_file("file-../../etc")


async def test_invalid_dataset_is_refused_with_line_and_code_and_never_becomes_a_job(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = json.dumps(
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    )
    bad.write_text("\n".join([good] * 9 + ["{not json", '{"messages": []}']) + "\n")
    p = provider()
    with pytest.raises(ProviderError) as err:
        await p.create_job(JobSpec(base_model="tiny-llama", training_file=str(bad)))
    assert err.value.code == "invalid_training_file"
    assert "line 10" in str(err.value) and str(bad) in str(err.value)
    assert (await p.jobs()).items == []
    assert not jobs_root().exists() or not any(jobs_root().glob("ftjob-*"))


async def test_bad_requests_fail_before_any_job_exists(tmp_path: Path) -> None:
    p = provider()
    data = write_dataset(tmp_path / "train.jsonl")
    with pytest.raises(FtuiError, match="unknown model"):
        await p.create_job(JobSpec(base_model="no-such-model", training_file=str(data)))
    with pytest.raises(ProviderError, match="needs a grader"):
        await p.create_job(JobSpec(base_model="tiny-llama", training_file=str(data), method="reinforcement"))
    with pytest.raises(ProviderError, match="no such file"):
        await p.create_job(JobSpec(base_model="tiny-llama", training_file=str(tmp_path / "missing.jsonl")))
    with pytest.raises(NotFound):
        await p.create_job(JobSpec(base_model="tiny-llama", training_file="file-doesnotexist"))
    with pytest.raises(NotFound):
        await p.job("ftjob-nope")
    assert (await p.jobs()).items == []


@pytest.mark.slow
async def test_chat_streams_from_base_fine_tuned_and_checkpoint_names(finished_job: Job) -> None:
    job = finished_job
    p = provider()
    assert job.fine_tuned_model == f"ft:tiny-llama:local:pirate:{job.id[6:14]}"
    ckpt = (await p.checkpoints(job.id))[-1].fine_tuned_model_checkpoint
    assert ckpt.endswith(":ckpt-step-2")
    base = await collect(p, "tiny-llama")
    tuned = await collect(p, job.fine_tuned_model)
    early = await collect(p, ckpt)
    assert base and tuned and early
    # Each name brings its own weights: the base alone, the final adapter, the epoch-1 adapter.
    assert p.resolve_model("tiny-llama") == ("tiny-llama", None)
    assert p.resolve_model(job.fine_tuned_model) == ("tiny-llama", str(jobs_root() / job.id / "adapter"))
    assert p.resolve_model(ckpt)[1].endswith("checkpoint-2")
    assert tuned != base  # a random adapter changes the greedy answer
    assert await collect(p, job.fine_tuned_model) == tuned  # warm and deterministic at temperature 0
    pieces = [piece async for piece in p.chat("tiny-llama", HELLO, ChatParams(temperature=0, max_tokens=12))]
    assert len(pieces) > 1  # streamed, not one block


@pytest.mark.slow
async def test_unknown_models_are_not_found(finished_job: Job) -> None:
    p = provider()
    for name in ("gpt-5", f"{finished_job.fine_tuned_model}:ckpt-step-999", "ft:tiny-llama:local::zzzzzzzz"):
        with pytest.raises(NotFound):
            await collect(p, name)


@pytest.mark.slow
async def test_delete_model_removes_the_adapter_but_keeps_the_job(finished_job: Job) -> None:
    p = provider()
    assert [m.id for m in await p.fine_tuned_models()] == [finished_job.fine_tuned_model]
    await p.delete_model(finished_job.fine_tuned_model)
    assert await p.fine_tuned_models() == []
    assert (await p.job(finished_job.id)).status == "succeeded"
    with pytest.raises(ProviderError):
        await collect(p, finished_job.fine_tuned_model)
    await collect(p, f"{finished_job.fine_tuned_model}:ckpt-step-2")  # its checkpoints remain
