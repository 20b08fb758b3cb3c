"""Streaming chat with a local base model, a fine-tuned adapter or a checkpoint (base weights plus adapter).

The last few loaded (base, adapter, device) models stay warm in a small LRU cache, so a second turn
does not reload weights. One lock serializes generation: on a CPU box two concurrent generations only
slow each other down, and it keeps the seeded sampling reproducible.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WARM_MODELS = 2

_cache: OrderedDict[tuple[str, str | None, str], tuple[Any, Any]] = OrderedDict()
_cache_lock = threading.Lock()
_generate_lock = threading.Lock()


def get_model(base_model: str, adapter: str | Path | None = None, device: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer), loaded once and kept warm."""
    from ftui_local import models

    dev = models.pick_device(device)
    adapter_key = str(Path(adapter).expanduser().resolve()) if adapter else None
    key = (models.resolve_base(base_model), adapter_key, dev)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        model = models.load_model(key[0], dev, adapter=key[1])
        tokenizer = models.load_tokenizer(key[0])
        _cache[key] = (model, tokenizer)
        while len(_cache) > WARM_MODELS:
            _cache.popitem(last=False)
        return model, tokenizer


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _plain(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    from ftui_local.train_data import normalize_messages

    return [{"role": m["role"], "content": m["content"]} for m in normalize_messages(messages, "chat")]


def prompt_ids(tokenizer: Any, messages: list[dict[str, Any]]) -> list[int]:
    text = tokenizer.apply_chat_template(_plain(messages), tokenize=False, add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def count_tokens(
    base_model: str, messages: list[dict[str, Any]] | None = None, text: str | None = None
) -> int:
    """Prompt tokens for `messages` (chat template included), or tokens of a plain `text`."""
    from ftui_local import models

    tokenizer = models.load_tokenizer(base_model)
    if messages is not None:
        return len(prompt_ids(tokenizer, messages))
    return len(tokenizer(text or "", add_special_tokens=False)["input_ids"])


def _held_back(text: str, stops: list[str]) -> int:
    """How many trailing characters could be the start of a stop string, so must wait for more text."""
    keep = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                keep = max(keep, n)
                break
    return keep


def stream_chat(
    base_model: str,
    adapter: str | Path | None,
    messages: list[dict[str, Any]],
    *,
    temperature: float = 0.7,
    top_p: float = 1.0,
    max_tokens: int = 256,
    stop: list[str] | None = None,
    seed: int | None = None,
    device: str = "auto",
) -> Iterator[str]:
    """Yield the reply in pieces as the model writes it. Temperature 0 is greedy decoding."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    model, tokenizer = get_model(base_model, adapter, device)
    stops = [s for s in (stop or []) if s]
    ids = torch.tensor([prompt_ids(tokenizer, messages)], device=model.device)
    halt = threading.Event()

    class Halt(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return halt.is_set()

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs: dict[str, Any] = dict(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_tokens,
        streamer=streamer,
        stopping_criteria=StoppingCriteriaList([Halt()]),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    if temperature and temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    failure: list[BaseException] = []

    def work() -> None:
        with _generate_lock:
            try:
                if seed is not None:
                    torch.manual_seed(seed)
                with torch.inference_mode():
                    model.generate(**kwargs)
            except BaseException as exc:  # reported to the consumer below
                failure.append(exc)
                streamer.end()

    thread = threading.Thread(target=work, name="ftui-generate", daemon=True)
    thread.start()
    pending = ""
    try:
        for piece in streamer:
            pending += piece
            hit = min((i for i in (pending.find(s) for s in stops) if i >= 0), default=-1)
            if hit >= 0:
                if pending[:hit]:
                    yield pending[:hit]
                pending = ""
                return
            keep = _held_back(pending, stops)
            out, pending = (pending[:-keep], pending[-keep:]) if keep else (pending, "")
            if out:
                yield out
        if failure:
            raise failure[0]
        if pending:
            yield pending
    finally:
        # Also runs when the consumer stops reading: the generation thread stops at its next token.
        halt.set()
        thread.join(timeout=60)
