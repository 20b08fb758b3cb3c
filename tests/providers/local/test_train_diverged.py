"""A job whose loss or gradients go NaN fails, says so, and publishes no model (tiny-llama, real steps)."""

from __future__ import annotations

import pytest
from ftui_local import train

pytestmark = pytest.mark.slow


def _poison(model) -> None:
    import torch

    with torch.no_grad():
        weight = next(p for n, p in model.named_parameters() if "lora_A" in n)
        weight[0, 0] = float("nan")


def test_nan_gradients_fail_the_job_at_that_step_and_save_nothing(make_job, chat_file, monkeypatch) -> None:
    real = train._build_trainer

    def poisoned(*args, **kwargs):
        trainer, callback = real(*args, **kwargs)
        _poison(trainer.model)  # lora_B starts at zero, so the output, loss and gradients are NaN
        return trainer, callback

    monkeypatch.setattr(train, "_build_trainer", poisoned)
    job = make_job(chat_file)

    assert train.run(job.path) == 1

    state = job.read_state()
    assert state["status"] == "failed"
    assert state["error"]["code"] == "training_diverged"
    assert "diverged at step 1" in state["error"]["message"]
    assert (
        "NaN or infinite" in state["error"]["message"]
        and "no model was published" in state["error"]["message"]
    )
    assert not job.adapter_dir.exists()
    assert job.checkpoints() == [] and not list(job.checkpoints_dir.glob("checkpoint-*"))
    assert not any(e["message"].startswith("New fine-tuned model") for e in job.events())


def test_weights_that_end_up_not_finite_are_never_published(make_job, chat_file, monkeypatch) -> None:
    real = train._build_trainer

    def poisoned_at_the_end(*args, **kwargs):
        trainer, callback = real(*args, **kwargs)
        run = trainer.train

        def train_then_poison(**kw):
            out = run(**kw)
            _poison(trainer.model)
            return out

        trainer.train = train_then_poison
        return trainer, callback

    monkeypatch.setattr(train, "_build_trainer", poisoned_at_the_end)
    job = make_job(chat_file, hyperparameters={"n_epochs": 1, "batch_size": 4, "extra": {"lora_r": 2}})

    assert train.run(job.path) == 1

    state = job.read_state()
    assert state["status"] == "failed" and state["error"]["code"] == "training_diverged"
    assert not job.adapter_dir.exists()
