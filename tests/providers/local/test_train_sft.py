"""ftui's CPU loss head computes what trl's fused LM head does: same loss, gradients and token accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest
from ftui_local import models, train, train_sft
from ftui_local.jobdir import JobDir
from ftui_local.train_callback import StopFlag
from ftui_local.train_data import encode_chat
from ftui_local.train_hparams import resolve

from .conftest import chat_rows

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("batching", ["padding_free", "group_by_length"])
@pytest.mark.parametrize("chunked", [False, True])
def test_cpu_loss_head_matches_trl_loss_gradients_and_token_accuracy(
    tmp_path: Path, monkeypatch, batching, chunked
):
    import torch
    from trl import SFTTrainer

    if chunked:  # a few logits per chunk: the checkpointed path that bounds memory on long batches
        monkeypatch.setattr(train_sft, "MAX_LOGITS_PER_CHUNK", 4096)
    tokenizer = models.load_tokenizer("tiny-llama")
    rows = []
    for row in chat_rows(8):
        enc = encode_chat(tokenizer, row["messages"])
        rows.append({**enc, "length": len(enc["input_ids"])})
    hp = {"n_epochs": 1, "batch_size": 8, "extra": {"batching": batching, "lora_dropout": 0.0, "lora_r": 4}}
    resolved = resolve(
        hp,
        method="supervised",
        n_examples=len(rows),
        context_length=2048,
        vocab_size=len(tokenizer),
        on_gpu=False,
    )
    job = JobDir(tmp_path / "job")
    job.path.mkdir()
    torch.manual_seed(0)
    model = models.load_model("tiny-llama", "cpu", trainable=True)
    trainer, _ = train._build_trainer(
        job,
        "supervised",
        model,
        tokenizer,
        rows,
        None,
        resolved,
        0,
        "cpu",
        {"hyperparameters": hp},
        StopFlag(),
        True,
        False,
    )
    assert isinstance(trainer, train_sft.FtuiSFTTrainer)
    trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))

    results = {}
    for name, compute in (("ftui", train_sft.FtuiSFTTrainer.compute_loss), ("trl", SFTTrainer.compute_loss)):
        trainer.model.zero_grad()
        loss = compute(trainer, trainer.model, dict(batch), num_items_in_batch=None)
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
        results[name] = (loss.item(), grads, trainer._metrics["train"]["mean_token_accuracy"][-1])

    (ours_loss, ours_grads, ours_acc), (trl_loss, trl_grads, trl_acc) = results["ftui"], results["trl"]
    assert ours_loss == pytest.approx(trl_loss, rel=1e-5)
    assert torch.allclose(ours_grads, trl_grads, atol=1e-6, rtol=1e-4)
    assert ours_acc == pytest.approx(trl_acc)


def test_bf16_on_cpu_trains_under_autocast_with_bf16_base_and_fp32_lora_weights(tmp_path: Path):
    """The CPU loss head calls the backbone directly, past the forward that accelerate wraps in
    autocast: without its own autocast, bf16 mixed precision silently trained in fp32."""
    import torch

    tokenizer = models.load_tokenizer("tiny-llama")
    rows = []
    for row in chat_rows(8):
        enc = encode_chat(tokenizer, row["messages"])
        rows.append({**enc, "length": len(enc["input_ids"])})
    losses = {}
    for bf16 in (False, True):
        hp = {"n_epochs": 1, "batch_size": 8, "extra": {"lora_dropout": 0.0, "lora_r": 4, "bf16": bf16}}
        resolved = resolve(
            hp,
            method="supervised",
            n_examples=len(rows),
            context_length=2048,
            vocab_size=len(tokenizer),
            on_gpu=False,
        )
        job = JobDir(tmp_path / f"job-{bf16}")
        job.path.mkdir()
        torch.manual_seed(0)
        model = models.load_model("tiny-llama", "cpu", trainable=True)
        trainer, _ = train._build_trainer(
            job,
            "supervised",
            model,
            tokenizer,
            rows,
            None,
            resolved,
            0,
            "cpu",
            {"hyperparameters": hp},
            StopFlag(),
            True,
            False,
        )
        trainer.model.train()
        dtypes = {}
        for name, p in trainer.model.named_parameters():
            dtypes.setdefault("lora" if "lora_" in name else "base", set()).add(p.dtype)
        seen: list[torch.dtype] = []
        q_proj = next(m for n, m in trainer.model.named_modules() if n.endswith("q_proj.base_layer"))
        q_proj.register_forward_hook(lambda mod, inp, out, seen=seen: seen.append(out.dtype))
        batch = next(iter(trainer.get_train_dataloader()))
        losses[bf16] = trainer.compute_loss(trainer.model, dict(batch)).item()
        if bf16:
            assert dtypes == {"base": {torch.bfloat16}, "lora": {torch.float32}}
            assert seen == [torch.bfloat16] * len(seen) and seen
        else:
            assert dtypes == {"base": {torch.float32}, "lora": {torch.float32}}
            assert seen and set(seen) == {torch.float32}
    assert losses[True] == pytest.approx(losses[False], rel=0.02)
