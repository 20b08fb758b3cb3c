"""Streaming chat with a local base model, a fine-tuned adapter or a checkpoint (base weights plus adapter).

The last few loaded (base, adapter, device) models stay warm in a small LRU cache, so a second turn
does not reload weights.

Generations take turns, one token each, in the order they asked (`Turns`): on a CPU box two
generations at once only slow each other down, but a long answer must not hold every other chat
until it ends. Each keeps its own random state across its turns, so a seeded answer is the same
whether it ran alone or beside others. A reply never asks for more tokens than the model's context
leaves after the prompt, stops at its next token when its reader goes away (`ChatStream.cancel`),
and `cancel_all` stops every one of them (a server shutting down).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ftui.errors import ProviderError

WARM_MODELS = 2

_cache: OrderedDict[tuple[str, str | None, str], tuple[Any, Any]] = OrderedDict()
_cache_lock = threading.Lock()


class Turns:
    """A fair lock: holders leave in the order they came, and `pass_turn` goes to the back of the
    line only when someone is waiting (a lone generation pays nothing)."""

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
_streams: set[ChatStream] = set()
_streams_lock = threading.Lock()


def cancel_all() -> None:
    """Stop every generation in flight at its next token (from any thread)."""
    with _streams_lock:
        streams = list(_streams)
    for stream in streams:
        stream.cancel()


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


class ChatStream:
    """One reply being written. Iterate it for the text in pieces (stop strings applied);
    `cancel()` from any thread stops the generation at its next token."""

    def __init__(
        self,
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
    ) -> None:
        import torch
        from transformers import TextIteratorStreamer

        from ftui_local import models

        model, tokenizer = get_model(base_model, adapter, device)
        prompt = prompt_ids(tokenizer, messages)
        context = models.context_length(models.resolve_base(base_model)) or 2048
        room = context - len(prompt)
        if room <= 0:
            raise ProviderError(
                f"the prompt is {len(prompt):,} tokens, and {base_model}'s context holds "
                f"{context:,}: shorten the messages",
                code="context_length_exceeded",
                status=400,
                param="messages",
            )
        self.max_new_tokens = min(max_tokens, room)
        self.stops = [s for s in (stop or []) if s]
        self.halt = threading.Event()
        self.failure: list[BaseException] = []
        self.streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        ids = torch.tensor([prompt], device=model.device)
        self._model, self._seed = model, seed
        self._kwargs: dict[str, Any] = dict(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=self.max_new_tokens,
            streamer=self.streamer,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        if temperature and temperature > 0:
            self._kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
        else:
            self._kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        self._thread = threading.Thread(target=self._work, name="ftui-generate", daemon=True)
        with _streams_lock:
            _streams.add(self)
        self._thread.start()

    def cancel(self) -> None:
        self.halt.set()

    def _work(self) -> None:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        stream = self
        cuda = self._model.device.type == "cuda"
        ticket = _turns.take()
        try:
            if self.halt.is_set():
                return
            if self._seed is not None:
                torch.manual_seed(self._seed)

            class TakeTurns(StoppingCriteria):
                """Runs between tokens: stop if asked, else let the next generation in line run one
                token, keeping this one's random state aside meanwhile."""

                def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                    nonlocal ticket
                    if stream.halt.is_set():
                        return True
                    if _turns.waiting > 1:
                        rng = torch.get_rng_state()
                        cuda_rng = torch.cuda.get_rng_state() if cuda else None
                        ticket = _turns.pass_turn(ticket)
                        torch.set_rng_state(rng)
                        if cuda_rng is not None:
                            torch.cuda.set_rng_state(cuda_rng)
                    return stream.halt.is_set()

            with torch.inference_mode():
                self._model.generate(**self._kwargs, stopping_criteria=StoppingCriteriaList([TakeTurns()]))
        except BaseException as exc:  # reported to the reader
            self.failure.append(exc)
        finally:
            _turns.give_back(ticket)
            self.streamer.end()
            with _streams_lock:
                _streams.discard(self)

    def __iter__(self) -> Iterator[str]:
        pending = ""
        stops = self.stops
        try:
            for piece in self.streamer:
                pending += piece
                hit = min((i for i in (pending.find(s) for s in stops) if i >= 0), default=-1)
                if hit >= 0:
                    if pending[:hit]:
                        yield pending[:hit]
                    return
                keep = _held_back(pending, stops)
                out, pending = (pending[:-keep], pending[-keep:]) if keep else (pending, "")
                if out:
                    yield out
            if self.failure:
                raise self.failure[0]
            if pending:
                yield pending
        finally:
            # Also runs when the reader stops reading: the generation stops at its next token.
            self.cancel()


def stream_chat(
    base_model: str,
    adapter: str | Path | None,
    messages: list[dict[str, Any]],
    **kwargs: Any,
) -> Iterator[str]:
    """Yield the reply in pieces as the model writes it. Temperature 0 is greedy decoding."""
    yield from ChatStream(base_model, adapter, messages, **kwargs)
