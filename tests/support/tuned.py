"""A tiny-llama fine-tuned to answer "ahoy", trained once per test session by the real local trainer
and copied into each test's FTUI_HOME (its job folder, adapter included), so evaluation tests have
a model that really beats its base."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from support.eventually import eventually_sync

ANSWER = "ahoy"
_trained: tuple[Path, str] | None = None


def rows(n: int, prompt: str) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": prompt.format(i=i)},
                {"role": "assistant", "content": ANSWER},
            ]
        }
        for i in range(n)
    ]


def write(path: Path, data: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    return path


def _train() -> tuple[Path, str]:
    from ftui_local.provider import LocalProvider
    from ftui_local.settings import LocalSettings

    from ftui.model import Hyperparameters, JobSpec

    home = Path(tempfile.mkdtemp(prefix="ftui-tuned-"))
    before = os.environ.get("FTUI_HOME")
    os.environ["FTUI_HOME"] = str(home)
    try:
        data = write(home / "train.jsonl", rows(12, "Greet visitor number {i}."))
        provider = LocalProvider(LocalSettings(device="cpu"), profile="test")
        spec = JobSpec(
            base_model="tiny-llama",
            training_file=str(data),
            seed=3,
            hyperparameters=Hyperparameters(
                n_epochs=8,
                batch_size=4,
                learning_rate_multiplier=25,
                extra={"lora_modules_to_save": "lm_head"},
            ),
        )
        job = asyncio.run(provider.create_job(spec))
        done = eventually_sync(
            lambda: asyncio.run(provider.job(job.id)), lambda j: j.done, timeout=300, what="the tuned model"
        )
        assert done.status == "succeeded", done.error
        assert done.fine_tuned_model
        return home / "data" / "local" / "jobs" / job.id, done.fine_tuned_model
    finally:
        if before is None:
            os.environ.pop("FTUI_HOME", None)
        else:
            os.environ["FTUI_HOME"] = before


def tuned_model(home: Path) -> str:
    """The fine-tuned model's name, its job copied under `home` (the test's FTUI_HOME)."""
    global _trained
    if _trained is None:
        # In a thread of its own: the caller may be an async test, with its loop running here.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            _trained = pool.submit(_train).result()
    source, name = _trained
    target = home / "data" / "local" / "jobs" / source.name
    if not target.exists():
        shutil.copytree(source, target)
        # The copy trained from a file that lives beside the original: point it at one here.
        spec = json.loads((target / "spec.json").read_text())
        spec["training_path"] = str(target / "training.jsonl")
        spec["training_file"] = str(target / "training.jsonl")
        (target / "spec.json").write_text(json.dumps(spec))
    return name
