"""Chat with a local base model, a fine-tuned adapter or a checkpoint (base weights plus adapter).

The last few loaded (base, adapter, device) models stay warm in a small LRU cache, so a second turn
does not reload weights. One generation thread serves every request of the process: requests that
wait while it works are batched together (same model, and greedy, or sampled alike without a
seed), so concurrent callers (an evaluation, `ftui serve` under load) share each forward pass
instead of queueing behind one another. Each row still streams its own text, stops at its own
stop strings, EOS or max_tokens, and can be abandoned by its caller mid-way. Seeded sampling runs
alone, so the same seed gives the same reply whatever else is running.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WARM_MODELS = 2

_cache: OrderedDict[tuple[str, str | None, str], tuple[Any, Any]] = OrderedDict()
_cache_lock = threading.Lock()


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


MAX_BATCH = 16
# Under load, wait this long for more requests to join a batch (they arrive a moment apart).
GATHER_S = 0.02

Emit = Callable[[Any], None]  # a text piece, None at the end, or the exception that ended it


@dataclass(eq=False)
class Request:
    base_model: str
    adapter: str | Path | None
    messages: list[dict[str, Any]]
    emit: Emit
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    device: str = "auto"
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()

    def group(self) -> tuple[Any, ...]:
        where = (self.base_model, str(self.adapter) if self.adapter else None, self.device)
        if not self.temperature or self.temperature <= 0:
            return (*where, "greedy")
        if self.seed is not None:
            return (*where, "seeded", id(self))  # alone: batch-mates would change its draws
        return (*where, "sampled", self.temperature, self.top_p)


class _Batcher:
    def __init__(self) -> None:
        self._queue: deque[Request] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last_size = 1

    def submit(self, request: Request) -> None:
        with self._ready:
            self._queue.append(request)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="ftui-generate", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _take(self) -> list[Request]:
        with self._ready:
            while not self._queue:
                self._ready.wait()
            first = self._queue.popleft()
            batch = [first]
            deadline = time.monotonic() + (GATHER_S if self._last_size > 1 else 0.0)
            while True:
                for r in list(self._queue):
                    if len(batch) >= MAX_BATCH:
                        break
                    if r.group() == first.group():
                        self._queue.remove(r)
                        batch.append(r)
                left = deadline - time.monotonic()
                if len(batch) >= min(MAX_BATCH, self._last_size) or left <= 0:
                    break
                self._ready.wait(left)
        return [r for r in batch if not r.cancelled.is_set()] or []

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                continue
            self._last_size = len(batch)
            try:
                _generate(batch)
            except BaseException as exc:  # reported to every caller of the batch
                for r in batch:
                    _safe_emit(r, exc)


_batcher = _Batcher()


def _safe_emit(request: Request, value: Any) -> None:
    try:
        request.emit(value)
    except RuntimeError:  # the caller's event loop is gone: nobody is listening
        request.cancel()


def submit(request: Request) -> None:
    """Queue a request; its pieces, then None (or an exception), arrive through `request.emit`."""
    _batcher.submit(request)


class _Row:
    """One request's progress inside a batch: what was decoded, sent and whether it is over."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.sent = 0
        self.done = False

    def advance(self, tokenizer: Any, ids: list[int], eos: set[int]) -> None:
        r = self.request
        cut = next((i for i, t in enumerate(ids) if t in eos), None)
        ended = cut is not None or len(ids) >= r.max_tokens or r.cancelled.is_set()
        text = tokenizer.decode(ids[:cut], skip_special_tokens=True)
        if not ended and text.endswith("\ufffd"):
            return  # half a multi-byte character: wait for the rest
        stops = [s for s in r.stop if s]
        hit = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
        if hit >= 0:
            text, ended = text[:hit], True
        upto = len(text) if ended else len(text) - _held_back(text, stops)
        if upto > self.sent:
            _safe_emit(r, text[self.sent : upto])
            self.sent = upto
        if ended:
            self.finish()

    def finish(self) -> None:
        if not self.done:
            self.done = True
            _safe_emit(self.request, None)


def _generate(batch: list[Request]) -> None:
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    first = batch[0]
    model, tokenizer = get_model(first.base_model, first.adapter, first.device)
    prompts = [prompt_ids(tokenizer, r.messages) for r in batch]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(p) for p in prompts)
    # Left padding: every row's next token sits at the same position.
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=model.device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
    eos = tokenizer.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
    rows = [_Row(r) for r in batch]

    class Watch(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            new = input_ids[:, width:].tolist()
            for row, generated in zip(rows, new, strict=True):
                if not row.done:
                    row.advance(tokenizer, generated, eos_ids)
            return torch.tensor([row.done for row in rows], device=input_ids.device)

    kwargs: dict[str, Any] = dict(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=max(r.max_tokens for r in batch),
        stopping_criteria=StoppingCriteriaList([Watch()]),
        pad_token_id=pad,
        eos_token_id=tokenizer.eos_token_id,
    )
    if first.temperature and first.temperature > 0:
        kwargs.update(do_sample=True, temperature=first.temperature, top_p=first.top_p, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if first.seed is not None:
        torch.manual_seed(first.seed)
    with torch.inference_mode():
        model.generate(**kwargs)
    for row in rows:
        row.finish()


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
    """Yield the reply in pieces as the model writes it. Temperature 0 is greedy decoding.

    Closing the iterator early abandons the request: its row stops at the next token."""
    pieces: queue.Queue[Any] = queue.Queue()
    request = Request(
        base_model,
        adapter,
        messages,
        pieces.put,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        stop=list(stop or []),
        seed=seed,
        device=device,
    )
    submit(request)
    try:
        while True:
            item = pieces.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            if item:
                yield item
    finally:
        request.cancel()
