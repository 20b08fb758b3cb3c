"""Asking models for answers: any provider, bounded concurrency per provider, rate limits, the cache.

A model is named `MODEL` (the active profile) or `MODEL@PROFILE` (another profile of the config:
a local checkpoint, an Azure deployment, a SageMaker endpoint, any OpenAI-compatible URL). Every
request goes through `provider.chat`, the provider contract, and through its profile's lane: at
most `concurrency` requests in flight, and after a 429 the whole lane waits out the Retry-After
the backend gave (or a growing backoff) before anyone sends again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftui.errors import ProviderError
from ftui.evaluate.cache import AnswerCache, Cached, answer_key
from ftui.graders.base import Answer, Usage

if TYPE_CHECKING:
    from ftui.model import ChatMessage, ChatParams
    from ftui.provider import Provider

MAX_ATTEMPTS = 6
MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class ModelRef:
    model: str
    profile: str

    @property
    def label(self) -> str:
        return self.model

    def __str__(self) -> str:
        return f"{self.model}@{self.profile}"


def parse_ref(text: str, active: str, profiles: list[str]) -> ModelRef:
    """`MODEL@PROFILE` when PROFILE is a profile of the config, else `MODEL` on the active profile."""
    model, sep, profile = text.strip().rpartition("@")
    if sep and model and profile in profiles:
        return ModelRef(model, profile)
    return ModelRef(text.strip(), active)


@dataclass
class Lane:
    """One provider profile's share of the traffic."""

    limit: int
    semaphore: asyncio.Semaphore = field(init=False)
    not_before: float = 0.0  # monotonic time before which nobody sends
    waits: int = 0  # how often a rate limit made the lane wait

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.limit)


@dataclass
class Result:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached: bool


class Caller:
    """Answers through providers, cached. `open_provider(profile)` returns that profile's provider."""

    def __init__(
        self,
        open_provider: Callable[[str], Provider],
        *,
        concurrency: int = 8,
        cache: AnswerCache | None = None,
        fresh: bool = False,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.open_provider = open_provider
        self.concurrency = concurrency
        self.cache = cache
        self.fresh = fresh  # ask again even when an answer is cached (the new one is cached)
        self._sleep = sleep
        self._providers: dict[str, Provider] = {}
        self._lanes: dict[str, Lane] = {}
        self._tokenizers: dict[tuple[str, str], Any] = {}

    def provider(self, profile: str) -> Provider:
        if profile not in self._providers:
            self._providers[profile] = self.open_provider(profile)
        return self._providers[profile]

    def lane(self, profile: str) -> Lane:
        if profile not in self._lanes:
            self._lanes[profile] = Lane(self.concurrency)
        return self._lanes[profile]

    def identity(self, profile: str) -> dict[str, Any]:
        provider = self.provider(profile)
        settings = provider.settings.model_dump_json()  # never holds a secret (config.SECRET_KEYS)
        return {
            "provider": provider.name,
            "profile": profile,
            "settings": hashlib.sha256(settings.encode()).hexdigest()[:16],
        }

    def _count(self, ref: ModelRef, messages: list[dict[str, Any]], text: str) -> tuple[int, int]:
        key = (ref.profile, ref.model)
        if key not in self._tokenizers:
            tok = None
            try:
                tok = self.provider(ref.profile).tokenizer(ref.model)
            except Exception:
                tok = None
            if tok is None:
                from ftui.data.tokens import tokenizer_for

                tok = tokenizer_for(ref.model)
            self._tokenizers[key] = tok
        tok = self._tokenizers[key]
        try:
            prompt = int(tok.count_example({"messages": messages}))
            count_text = getattr(tok, "count_text", None)
            if count_text is not None:
                completion = int(count_text(text))
            else:  # a model's own tokenizer counts a completion with its end-of-sequence token
                completion = max(0, int(tok.count_example({"prompt": "", "completion": text})) - 1)
        except Exception:
            return 0, 0
        return prompt, completion

    async def answer(self, ref: ModelRef, messages: list[ChatMessage], params: ChatParams) -> Result:
        plain = [m.model_dump() for m in messages]
        key = answer_key(self.identity(ref.profile), ref.model, plain, params.model_dump(mode="json"))
        if self.cache is not None and not self.fresh:
            hit = await asyncio.to_thread(self.cache.get, key)
            if hit is not None:
                return Result(hit.text, hit.prompt_tokens, hit.completion_tokens, hit.latency_s, True)
        text, latency = await self._ask(ref, messages, params)
        prompt_tokens, completion_tokens = await asyncio.to_thread(self._count, ref, plain, text)
        if self.cache is not None:
            await asyncio.to_thread(
                self.cache.put, key, Cached(text, prompt_tokens, completion_tokens, latency)
            )
        return Result(text, prompt_tokens, completion_tokens, latency, False)

    async def _ask(self, ref: ModelRef, messages: list[ChatMessage], params: ChatParams) -> tuple[str, float]:
        lane = self.lane(ref.profile)
        provider = self.provider(ref.profile)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            async with lane.semaphore:
                wait = lane.not_before - time.monotonic()
                if wait > 0:
                    await self._sleep(wait)
                started = time.monotonic()
                try:
                    pieces = [p async for p in provider.chat(ref.model, messages, params)]
                    return "".join(pieces), time.monotonic() - started
                except ProviderError as exc:
                    limited = exc.status == 429 or exc.code in ("rate_limited", "rate_limit_exceeded")
                    if not (limited or exc.retryable) or attempt == MAX_ATTEMPTS:
                        raise
                    delay = exc.retry_after
                    if delay is None:
                        delay = min(MAX_BACKOFF_S, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)
                    if limited:
                        # Everyone on this provider waits, not just this request.
                        lane.not_before = max(lane.not_before, time.monotonic() + delay)
                        lane.waits += 1
                    else:
                        await self._sleep(delay)
        raise AssertionError("unreachable")

    def judge(self, active: str, profiles: list[str]) -> Callable[..., Any]:
        """The `Context.judge` graders use: judge models go through the same lanes and cache."""
        from ftui.model import ChatMessage, ChatParams

        async def ask(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Answer:
            ref = parse_ref(model, active, profiles)
            chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]  # type: ignore[arg-type]
            result = await self.answer(ref, chat, ChatParams(**params))
            return Answer(result.text, Usage(result.prompt_tokens, result.completion_tokens))

        return ask

    async def aclose(self) -> None:
        for provider in self._providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
        self._providers.clear()
