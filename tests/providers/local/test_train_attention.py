"""Per-example attention for padding-free rows gives the stock sdpa results, without a dense mask."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from ftui_local.train_attention import VARLEN_SDPA, register, use_varlen


def _lora_llama(n_heads: int, n_kv_heads: int) -> Any:
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=n_heads,
        num_key_value_heads=n_kv_heads,
        max_position_embeddings=256,
        attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model = get_peft_model(
        model,
        LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    with torch.no_grad():  # LoRA B starts at zero; make the adapter matter for the comparison
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.02)
    model.train()
    return model


def _packed_batch() -> dict[str, Any]:
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    g = torch.Generator().manual_seed(1)
    examples = [{"input_ids": torch.randint(3, 300, (n,), generator=g).tolist()} for n in (17, 1, 40, 5, 23)]
    return DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(examples)


def _loss_logits_grads(model: Any, batch: dict[str, Any], impl: str) -> tuple[Any, Any, dict[str, Any]]:
    model.get_base_model().set_attn_implementation(impl)
    model.zero_grad()
    out = model(**batch, use_cache=False)  # as the trainer calls it; a cache turns off packed-row detection
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return out.loss.detach(), out.logits.detach(), grads


def _assert_same(model: Any, batch: dict[str, Any]) -> None:
    loss, logits, grads = _loss_logits_grads(model, batch, "sdpa")
    v_loss, v_logits, v_grads = _loss_logits_grads(model, batch, VARLEN_SDPA)
    torch.testing.assert_close(v_logits, logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(v_loss, loss, rtol=1e-5, atol=1e-6)
    assert grads.keys() == v_grads.keys() and grads
    for name in grads:
        torch.testing.assert_close(v_grads[name], grads[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize(("n_heads", "n_kv_heads"), [(4, 4), (4, 2)], ids=["mha", "gqa"])
def test_packed_row_matches_stock_sdpa_logits_loss_and_lora_grads(n_heads: int, n_kv_heads: int) -> None:
    model = _lora_llama(n_heads, n_kv_heads)
    register()
    _assert_same(model, _packed_batch())


def test_packed_row_without_cu_seq_lens_splits_at_position_resets() -> None:
    model = _lora_llama(4, 2)
    register()
    batch = {k: v for k, v in _packed_batch().items() if not k.startswith(("cu_seq_lens", "max_length"))}
    _assert_same(model, batch)


def test_padded_batch_falls_back_to_stock_sdpa() -> None:
    model = _lora_llama(4, 2)
    register()
    ids = torch.randint(3, 300, (2, 12), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    labels = ids.masked_fill(mask == 0, -100)
    _assert_same(model, {"input_ids": ids, "attention_mask": mask, "labels": labels})


def test_packed_row_builds_no_dense_mask() -> None:
    from transformers.masking_utils import create_causal_mask

    model = _lora_llama(4, 2)
    assert use_varlen(model.get_base_model())
    position_ids = _packed_batch()["position_ids"]
    embeds = torch.zeros(1, position_ids.shape[1], 64)
    config = model.get_base_model().config
    assert (
        create_causal_mask(
            config=config,
            inputs_embeds=embeds,
            attention_mask=None,
            past_key_values=None,
            position_ids=position_ids,
        )
        is None
    )


def test_bf16_attention_on_cpu_is_computed_in_fp32_and_returned_in_bf16():
    from ftui_local.train_attention import varlen_sdpa

    g = torch.Generator().manual_seed(2)
    lengths = [5, 9, 3]
    q, k, v = (torch.randn(1, 2, sum(lengths), 8, generator=g) for _ in range(3))
    position_ids = torch.cat([torch.arange(n) for n in lengths]).unsqueeze(0)

    class Attn(torch.nn.Module):
        is_causal = True
        num_key_value_groups = 1

    exact, _ = varlen_sdpa(Attn(), q, k, v, None, position_ids=position_ids)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half, _ = varlen_sdpa(
            Attn(), q.bfloat16(), k.bfloat16(), v.bfloat16(), None, position_ids=position_ids
        )
    assert half.dtype == torch.bfloat16
    assert torch.allclose(half.float(), exact, atol=3e-2)
