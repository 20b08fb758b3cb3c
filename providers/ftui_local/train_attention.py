"""Attention for padding-free training on CPU: one causal attention per packed example, not one over the row.

trl's padding-free collator flattens a batch into one row and restarts `position_ids` at 0 per example.
The stock `sdpa` path then builds a block-diagonal mask and CPU SDPA computes dense attention over the
whole row: O((sum of lengths)^2), most of it on masked-out blocks (about 7/8 of it for batches of 8).

`varlen_sdpa` cuts query, key and value at the example boundaries (the collator's `cu_seq_lens_q`, or the
position resets) and runs causal SDPA per example, which is the same attention with no cross-example
work. Its mask function returns no mask for such rows, as transformers' flash-attention path does, so no
dense mask is built. Anything else (a padding mask, a cache, a batch of several rows) goes to the stock
sdpa function and mask unchanged.
"""

from __future__ import annotations

import itertools
from typing import Any

VARLEN_SDPA = "ftui_varlen_sdpa"


def register() -> None:
    """Make `VARLEN_SDPA` a valid `attn_implementation` (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    if VARLEN_SDPA not in ALL_MASK_ATTENTION_FUNCTIONS._global_mapping:
        AttentionInterface.register(VARLEN_SDPA, varlen_sdpa)
        AttentionMaskInterface.register(VARLEN_SDPA, _varlen_mask)


def supports(model: Any) -> bool:
    """Full causal attention in every layer, no softcap: what `varlen_sdpa` computes exactly."""
    config = getattr(model, "config", None)
    can_set = getattr(model, "_can_set_attn_implementation", None)
    if config is None or can_set is None or not can_set():
        return False
    if getattr(config, "sliding_window", None) or getattr(config, "attn_logit_softcapping", None):
        return False
    layer_types = getattr(config, "layer_types", None) or ["full_attention"]
    return all(t == "full_attention" for t in layer_types)


def use_varlen(model: Any) -> bool:
    """Switch `model` to per-example attention; False (model unchanged) where that would not be exact."""
    if hasattr(model, "get_base_model"):  # a peft model resumed from an adapter
        model = model.get_base_model()
    if not supports(model):
        return False
    register()
    model.set_attn_implementation(VARLEN_SDPA)
    return True


def _varlen_mask(
    *,
    batch_size: int,
    q_length: int,
    kv_length: int,
    q_offset: Any = 0,
    kv_offset: Any = 0,
    attention_mask: Any = None,
    **kwargs: Any,
) -> Any:
    from transformers.masking_utils import sdpa_mask

    # A single row with no padding mask and no cached prefix: the attention splits it itself.
    if (
        attention_mask is None
        and batch_size == 1
        and q_length == kv_length
        and int(q_offset) == 0
        and int(kv_offset) == 0
    ):
        return None
    return sdpa_mask(
        batch_size=batch_size,
        q_length=q_length,
        kv_length=kv_length,
        q_offset=q_offset,
        kv_offset=kv_offset,
        attention_mask=attention_mask,
        **kwargs,
    )


def _segment_lengths(length: int, kwargs: dict[str, Any]) -> list[int] | None:
    cu = kwargs.get("cu_seq_lens_q")
    if cu is not None and kwargs.get("cu_seq_lens_k") is not None and cu.dim() == 1:
        bounds = cu.tolist()
        if bounds and bounds[0] == 0 and bounds[-1] == length and kwargs["cu_seq_lens_k"].tolist() == bounds:
            return [b - a for a, b in itertools.pairwise(bounds)]
        return None
    position_ids = kwargs.get("position_ids")
    if (
        position_ids is None
        or position_ids.shape[-1] != length
        or position_ids.dim() > 2
        or (position_ids.dim() == 2 and position_ids.shape[0] != 1)
    ):
        return None
    import torch

    pos = position_ids.reshape(-1)
    # A new example starts wherever the position does not follow on from the one before.
    starts = torch.nonzero(pos[1:] != pos[:-1] + 1).flatten().add(1).tolist()
    bounds = [0, *starts, length]
    return [b - a for a, b in itertools.pairwise(bounds)]


def varlen_sdpa(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    length = query.shape[2]
    lengths = None
    if (
        attention_mask is None
        and query.shape[0] == 1
        and key.shape[2] == length
        and length > 1
        and kwargs.get("position_bias") is None
        and kwargs.get("cache") is None
        and (is_causal if is_causal is not None else getattr(module, "is_causal", True))
    ):
        lengths = _segment_lengths(length, kwargs)
    if lengths is None or len(lengths) < 2:
        return sdpa_attention_forward(
            module,
            query,
            key,
            value,
            attention_mask,
            dropout=dropout,
            scaling=scaling,
            is_causal=is_causal,
            **kwargs,
        )
    import torch
    import torch.nn.functional as F

    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    dtype = query.dtype
    if dtype == torch.bfloat16 and query.device.type == "cpu":
        # torch's CPU attention kernels are about 3x slower in bf16 than in fp32 here, casts included.
        query, key, value = query.float(), key.float(), value.float()
    parts = zip(
        query.split(lengths, dim=2), key.split(lengths, dim=2), value.split(lengths, dim=2), strict=True
    )
    with torch.autocast(query.device.type, enabled=False):  # autocast would cast back to bf16
        outputs = [
            F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=scaling, is_causal=True)
            for q, k, v in parts
        ]
    return torch.cat(outputs, dim=2).transpose(1, 2).to(dtype).contiguous(), None
