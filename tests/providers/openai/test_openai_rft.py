"""Reinforcement jobs through the openai provider: the grader object reaches the trainer exactly as
the user wrote it, and a bad one is refused with OpenAI's error, naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.openai_provider import make_provider

from ftui.errors import ProviderError
from ftui.model import Hyperparameters, JobSpec

pytestmark = pytest.mark.slow

GRADER = {
    "type": "python",
    "name": "has_a",
    "source": "def grade(sample, item):\n    return float(item['keyword'] in sample['output_text'])\n",
    "image_tag": "2025-05-08",
}


def prompts(path: Path, n: int = 10) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"Say something {i}"}], "keyword": "a"} for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def spec(tmp_path: Path, grader: dict) -> JobSpec:
    return JobSpec(
        base_model="tiny-llama",
        training_file=str(prompts(tmp_path / "train.jsonl")),
        validation_file=str(prompts(tmp_path / "valid.jsonl")),
        method="reinforcement",
        grader=grader,
        hyperparameters=Hyperparameters(n_epochs=1, batch_size=2, extra={"max_completion_length": 4}),
    )


async def test_the_grader_reaches_the_local_trainer_unchanged(server, local_provider, monkeypatch, tmp_path):
    provider = make_provider(server.url, monkeypatch)
    job = await provider.create_job(spec(tmp_path, GRADER))
    try:
        assert job.method == "reinforcement"
        local = await local_provider.job(job.id)
        assert local.raw["spec"]["grader"] == GRADER  # image_tag and all
    finally:
        await provider.cancel(job.id)
        await provider.aclose()


async def test_a_bad_grader_is_refused_naming_the_field(server, monkeypatch, tmp_path):
    provider = make_provider(server.url, monkeypatch)
    bad = {**GRADER, "source": "def not_grade(sample, item):\n    return 1\n"}
    with pytest.raises(ProviderError, match=r"invalid grader: field 'grader.source'"):
        await provider.create_job(spec(tmp_path, bad))
    await provider.aclose()
