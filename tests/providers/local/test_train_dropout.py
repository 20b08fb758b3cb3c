"""The CPU LoRA dropout draws the same masks, in distribution, as `nn.Dropout`, with fewer random numbers."""

from __future__ import annotations

import math

import pytest
import torch
from ftui_local.train_dropout import SparseDropout, dropped_positions, install


def test_dropped_positions_are_a_bernoulli_mask_of_rate_p():
    gen = torch.Generator().manual_seed(0)
    n, p = 400_000, 0.05
    pos = dropped_positions(n, p, gen)
    assert pos.dtype == torch.long
    assert bool((pos[1:] > pos[:-1]).all()), "increasing, no position twice"
    assert int(pos.min()) >= 0 and int(pos.max()) < n
    # The count is Binomial(n, p): within 5 standard deviations.
    assert abs(len(pos) - n * p) < 5 * math.sqrt(n * p * (1 - p))
    # Gaps between drops are Geometric(p): P(gap == 1) = p, P(gap > 20) = (1 - p) ** 20.
    gaps = torch.diff(pos)
    assert float((gaps == 1).float().mean()) == pytest.approx(p, abs=0.01)
    assert float((gaps > 20).float().mean()) == pytest.approx((1 - p) ** 20, abs=0.02)
    # No drift along the sequence: each half holds about half of the drops.
    first_half = int((pos < n // 2).sum())
    assert abs(first_half - len(pos) / 2) < 5 * math.sqrt(len(pos) / 4)


def test_dropped_positions_draw_again_when_the_first_draw_falls_short():
    gen = torch.Generator().manual_seed(1)
    assert len(dropped_positions(10, 0.2, gen)) <= 10
    assert len(dropped_positions(0, 0.2, gen)) == 0
    assert len(dropped_positions(5, 0.0, gen)) == 0


def test_sparse_dropout_scales_kept_elements_and_passes_gradients_like_nn_dropout():
    torch.manual_seed(0)
    drop = SparseDropout(0.1)
    x = torch.randn(64, 300, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert torch.allclose(y[kept], x[kept] / 0.9)
    y.sum().backward()
    assert torch.allclose(x.grad, kept.float() / 0.9)
    drop.eval()
    assert drop(x) is x


def test_sparse_dropout_follows_torch_seed():
    x = torch.ones(50, 50)
    torch.manual_seed(3)
    a = SparseDropout(0.05)(x)
    torch.manual_seed(3)
    b = SparseDropout(0.05)(x)
    assert torch.equal(a, b)


def test_install_replaces_the_dropout_of_every_lora_layer():
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
    )
    lora = LoraConfig(r=2, lora_dropout=0.05, target_modules="all-linear")
    model = get_peft_model(LlamaForCausalLM(config), lora)
    assert install(model) == 2 * 7
    assert not any(type(m) is torch.nn.Dropout for m in model.modules())
    model.train()
    out = model(input_ids=torch.tensor([[1, 2, 3]]), labels=torch.tensor([[1, 2, 3]]))
    out.loss.backward()
