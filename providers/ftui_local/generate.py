"""Chat with a local base model, a fine-tuned adapter or a checkpoint (base weights plus adapter).

The last few loaded (base, adapter, device) models stay warm in a small LRU cache, so a second turn
does not reload weights. Requests that arrive together are batched (same model, and greedy, or
sampled alike without a seed), so concurrent callers (an evaluation, `ftui serve` under load)
share each forward pass. Each row still streams its own text, stops at its own stop strings, EOS
or max_tokens, and can be abandoned by its caller mid-way. Seeded sampling runs alone, so the same
seed gives the same reply whatever else is running.

Batches do not wait for one another: a request that arrives while a long reply is being written
starts its own batch at once, and running batches take turns one token each, in the order they
asked (`Turns`), each keeping its own random state across its turns. No reply asks for more tokens
than the model's context leaves after its prompt, and `cancel_all` ends every request (a server
shutting down).
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

from ftui.errors import ProviderError

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
# Batches generating at once, taking turns; more wait (and gather into bigger batches). Each holds
# its own attention cache, so this bounds memory too.
MAX_RUNNING = 8


class Turns:
    """A fair lock: holders leave in the order they came, and `pass_turn` goes to the back of the
    line only when someone is waiting (a lone batch pays nothing)."""

    def __init__(self) -> None:
        self._line: deque[object] = deque()
        self._changed = threading.Condition()

    def take(self) -> object:
        ticket = object()
        with self._changed:
            self._line.append(ticket)
            self._changed.wait_for(lambda: self._line[0] is ticket)
        return ticket

    def give_back(self, ticket: object) -> None:
        with self._changed:
            self._line.remove(ticket)
            self._changed.notify_all()

    def pass_turn(self, ticket: object) -> object:
        with self._changed:
            if len(self._line) == 1:
                return ticket
        self.give_back(ticket)
        return self.take()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._line)


_turns = Turns()
_live: set[Request] = set()  # submitted and not finished: what `cancel_all` ends
_live_lock = threading.Lock()


def live() -> int:
    """Requests submitted and not finished yet (waiting or generating)."""
    with _live_lock:
        return len(_live)


def cancel_all() -> None:
    """End every request, waiting or generating, at its next token (from any thread)."""
    with _live_lock:
        requests = list(_live)
    for request in requests:
        request.cancel()


def budget(context_length: int, prompt_tokens: int, max_tokens: int) -> int:
    """New tokens a reply may have: what was asked, capped to what the context leaves."""
    return max(0, min(max_tokens, context_length - prompt_tokens))


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
        self.peak_size = 1  # the largest batch so far (what proves batching happens)
        self._slots = threading.BoundedSemaphore(MAX_RUNNING)
        self._running = 0

    def submit(self, request: Request) -> None:
        with _live_lock:
            _live.add(request)
        with self._ready:
            self._queue.append(request)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="ftui-batcher", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _take(self) -> list[Request]:
        with self._ready:
            while not self._queue:
                self._ready.wait()
            first = self._queue.popleft()
            batch = [first]
            busy = self._last_size > 1 or self._running > 0
            deadline = time.monotonic() + (GATHER_S if busy else 0.0)
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
        for r in batch:
            if r.cancelled.is_set():
                _end(r, None)  # cancelled while it waited: its caller (if still there) gets the end
        return [r for r in batch if not r.cancelled.is_set()]

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                continue
            self._last_size = len(batch)
            self.peak_size = max(self.peak_size, len(batch))
            self._slots.acquire()
            with self._ready:
                self._running += 1
            threading.Thread(target=self._run, args=(batch,), name="ftui-generate", daemon=True).start()

    def _run(self, batch: list[Request]) -> None:
        try:
            _generate(batch)
        except BaseException as exc:  # reported to every caller of the batch
            for r in batch:
                _end(r, exc)
        finally:
            with self._ready:
                self._running -= 1
            self._slots.release()


_batcher = _Batcher()


def _safe_emit(request: Request, value: Any) -> None:
    try:
        request.emit(value)
    except RuntimeError:  # the caller's event loop is gone: nobody is listening
        request.cancel()


def _end(request: Request, value: Any) -> None:
    """The request's last item (None, or the exception that ended it); it is no longer live."""
    with _live_lock:
        if request not in _live:
            return
        _live.discard(request)
    _safe_emit(request, value)


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
            _end(self.request, None)


def _generate(batch: list[Request]) -> None:
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    from ftui_local import models

    first = batch[0]
    model, tokenizer = get_model(first.base_model, first.adapter, first.device)
    context = models.context_length(models.resolve_base(first.base_model)) or 2048
    prompts = []
    for r in list(batch):
        prompt = prompt_ids(tokenizer, r.messages)
        if len(prompt) >= context:
            batch.remove(r)
            _end(r, _too_long(r.base_model, len(prompt), context))
        else:
            prompts.append(prompt)
    if not batch:
        return
    first = batch[0]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(p) for p in prompts)
    for r in batch:  # an unbounded max_tokens ends where the context does
        r.max_tokens = budget(context, width, r.max_tokens)
    # Left padding: every row's next token sits at the same position.
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=model.device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
    eos = tokenizer.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
    rows = [_Row(r) for r in batch]
    cuda = model.device.type == "cuda"
    ticket = _turns.take()

    class Watch(StoppingCriteria):
        """Between tokens: hand each row its text, then let the next batch in line run one token,
        keeping this batch's random state aside meanwhile."""

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            nonlocal ticket
            new = input_ids[:, width:].tolist()
            for row, generated in zip(rows, new, strict=True):
                if not row.done:
                    row.advance(tokenizer, generated, eos_ids)
            if _turns.waiting > 1 and not all(row.done for row in rows):
                rng = torch.get_rng_state()
                cuda_rng = torch.cuda.get_rng_state() if cuda else None
                ticket = _turns.pass_turn(ticket)
                torch.set_rng_state(rng)
                if cuda_rng is not None:
                    torch.cuda.set_rng_state(cuda_rng)
            return torch.tensor([row.done for row in rows], device=input_ids.device)

    kwargs: dict[str, Any] = dict(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=max(1, max(r.max_tokens for r in batch)),
        stopping_criteria=StoppingCriteriaList([Watch()]),
        pad_token_id=pad,
        eos_token_id=tokenizer.eos_token_id,
    )
    if first.temperature and first.temperature > 0:
        kwargs.update(do_sample=True, temperature=first.temperature, top_p=first.top_p, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    try:
        if first.seed is not None:
            torch.manual_seed(first.seed)
        with torch.inference_mode():
            model.generate(**kwargs)
    finally:
        _turns.give_back(ticket)
    for row in rows:
        row.finish()


def _too_long(model: str, prompt: int, context: int) -> ProviderError:
    return ProviderError(
        f"the prompt is {prompt:,} tokens, and {model}'s context holds {context:,}: shorten the messages",
        code="context_length_exceeded",
        status=400,
        param="messages",
    )


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
