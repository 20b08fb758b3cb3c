"""Hyperparameters: "auto" resolved the way OpenAI documents it, scaled to the dataset, then LoRA knobs.

Resolution of "auto" (n = number of training examples):

- n_epochs: 3, raised for small sets so that n x epochs reaches about 100 examples seen (at most 25
  epochs), lowered for large sets so that it stays under about 25,000 (at least 1). This is the rule
  in OpenAI's chat fine-tuning data-preparation guide.
- batch_size: about 0.2 % of the examples, at least 4 (or n when n < 4), at most 8 on CPU and 32 on
  a GPU: small batches keep CPU steps short, so a live chart moves and cancel stays quick.
- learning_rate_multiplier: 1.0, applied to a base LoRA learning rate of 2e-4 (supervised) or 5e-5
  (dpo, whose loss is sharper).
- beta (dpo): 0.1, trl's default.
- extra: lora_r 16, lora_alpha 32, lora_dropout 0.05, max_length min(context length, 2048),
  batching "auto" (see `choose_batching`).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ftui.errors import FtuiError
from ftui.hyperparameters import Bound, HyperparameterError, check_value, refused

BASE_LR = {"supervised": 2e-4, "dpo": 5e-5}
TARGET_EPOCHS, MIN_TARGET_EXAMPLES, MAX_TARGET_EXAMPLES = 3, 100, 25_000
MIN_DEFAULT_EPOCHS, MAX_DEFAULT_EPOCHS = 1, 25
BATCHINGS = ("auto", "padded", "group_by_length", "padding_free")
# The trainer's own knobs (`hyperparameters.extra`): LocalProvider.extra_hyperparameters, checked
# when a job is created and again here, in the worker.
EXTRA: dict[str, Bound] = {
    "lora_r": Bound(int, 1, 1024, auto=False),
    "lora_alpha": Bound(float, 0, 65536, low_open=True, auto=False),
    "lora_dropout": Bound(float, 0, 1, high_open=True, auto=False),
    "max_length": Bound(int, 8, 1_048_576, auto=False),  # and at most the model's context
    "batching": Bound(str, choices=BATCHINGS),
    "gradient_accumulation_steps": Bound(int, 1, 1024, auto=False),
    "bf16": Bound(bool, auto=False),
    "save_steps": Bound(int, 1, 10_000_000, auto=False),  # checkpoint every N steps, not every epoch
    # reinforcement (train_grpo): the rest of its knobs are OpenAI's, in ftui.hyperparameters
    "lora_modules_to_save": Bound(str, auto=False),  # e.g. "lm_head", comma-separated
    "max_completion_length": Bound(int, 1, 65536, auto=False),
    "temperature": Bound(float, 0, 2, low_open=True, auto=False),
}


class Resolved(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    n_epochs: int = Field(ge=1, le=50)
    batch_size: int = Field(ge=1, le=256)
    learning_rate_multiplier: float = Field(gt=0, le=1000)
    learning_rate: float = Field(gt=0)
    beta: float | None = Field(default=None, gt=0, le=2)
    lora_r: int = Field(ge=1, le=1024)
    lora_alpha: float = Field(gt=0)
    lora_dropout: float = Field(ge=0, lt=1)
    max_length: int = Field(ge=8)
    batching: str
    gradient_accumulation_steps: int = Field(ge=1, le=1024)


def auto_epochs(n: int) -> int:
    if n * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, max(TARGET_EPOCHS, MIN_TARGET_EXAMPLES // max(n, 1)))
    if n * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n)
    return TARGET_EPOCHS


def auto_batch_size(n: int, on_gpu: bool) -> int:
    cap = 32 if on_gpu else 8
    return max(min(4, n), min(cap, math.ceil(n * 0.002)))


def choose_batching(vocab_size: int, on_gpu: bool) -> str:
    """Padding-free wins where the vocabulary projection dominates (32k+ vocabularies measured 2-3x on
    CPU) and on GPUs; with a small vocabulary the dense attention over one flattened row eats the gain
    on CPU, while length-grouped padded batches measured about 2x."""
    if on_gpu or vocab_size >= 16_000:
        return "padding_free"
    return "group_by_length"


def _value(hp: dict[str, Any], key: str) -> Any:
    v = hp.get(key, "auto")
    return None if v in ("auto", None) else v


def resolve(
    hp: dict[str, Any],
    *,
    method: str,
    n_examples: int,
    context_length: int | None,
    vocab_size: int,
    on_gpu: bool,
) -> Resolved:
    try:
        extra = {k: check_value(k, v, method, EXTRA) for k, v in (hp.get("extra") or {}).items()}
        batching = extra.get("batching", "auto")
        if batching == "auto":
            batching = choose_batching(vocab_size, on_gpu)
        max_len_cap = min(context_length or 2048, 2048)
        epochs, batch = _value(hp, "n_epochs"), _value(hp, "batch_size")
        mult, beta = _value(hp, "learning_rate_multiplier"), _value(hp, "beta")
        mult = 1.0 if mult is None else mult
        lora_r = extra.get("lora_r", 16)
        return Resolved.model_validate(
            {
                "n_epochs": auto_epochs(n_examples) if epochs is None else epochs,
                "batch_size": auto_batch_size(n_examples, on_gpu) if batch is None else batch,
                "learning_rate_multiplier": mult,
                "learning_rate": BASE_LR.get(method, BASE_LR["supervised"]) * float(mult),
                "beta": (0.1 if beta is None else beta) if method == "dpo" else None,
                "lora_r": lora_r,
                "lora_alpha": extra.get("lora_alpha", 2 * lora_r),
                "lora_dropout": extra.get("lora_dropout", 0.05),
                # Past the model's context the position embeddings run out: cap it there.
                "max_length": min(extra.get("max_length", max_len_cap), context_length or 1 << 30),
                "batching": batching,
                "gradient_accumulation_steps": extra.get("gradient_accumulation_steps", 1),
            }
        )
    except HyperparameterError:
        raise
    except (TypeError, ValueError) as exc:
        # pydantic's ValidationError is a ValueError: name the field, not the traceback.
        inner = refused(exc)
        if inner is not None:
            raise inner from None
        errors = getattr(exc, "errors", None)
        if callable(errors):
            first = errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise FtuiError(f"hyperparameter {field}: {first['msg']}") from None
        raise FtuiError(f"bad hyperparameter value: {exc}") from None
