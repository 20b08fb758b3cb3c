"""Asking models: one lane per provider bounds requests in flight, a 429's Retry-After pauses the lane,
answers are cached per (model, prompt, params), model references name other profiles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.faults import Fault, FaultProxy
from support.serve_harness import serve

from ftui.errors import ProviderError
from ftui.evaluate.cache import AnswerCache
from ftui.evaluate.calls import Caller, ModelRef, parse_ref
from ftui.model import ChatMessage, ChatParams
from ftui.provider import ProfileSettings, Provider

PARAMS = ChatParams(temperature=0, max_tokens=4)


def ask(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


class Counting(Provider):
    """A provider that answers by echoing, and counts how many chats are open at once."""

    name = "counting"
    capabilities = frozenset({"chat"})

    def __init__(self) -> None:
        super().__init__(ProfileSettings(provider="counting"))
        self.open = self.peak = self.calls = 0

    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:  # type: ignore[override]
        self.open += 1
        self.calls += 1
        self.peak = max(self.peak, self.open)
        try:
            await asyncio.sleep(0.01)
            yield f"echo {messages[-1].content}"
        finally:
            self.open -= 1


def test_model_references_name_other_profiles_only_when_they_exist():
    assert parse_ref("gpt-4o@azure", "local", ["local", "azure"]) == ModelRef("gpt-4o", "azure")
    assert parse_ref("user@example.com/model", "local", ["local"]) == ModelRef(
        "user@example.com/model", "local"
    )
    assert parse_ref("ft:tiny:x", "local", ["local"]) == ModelRef("ft:tiny:x", "local")


def test_a_lane_bounds_requests_in_flight_and_the_cache_answers_repeats(tmp_path):
    provider = Counting()
    cache = AnswerCache(tmp_path / "answers.sqlite")
    caller = Caller(lambda p: provider, concurrency=3, cache=cache)
    ref = ModelRef("m", "p")

    async def go(n: int) -> list[Any]:
        return await asyncio.gather(*(caller.answer(ref, ask(f"q{i}"), PARAMS) for i in range(n)))

    first = asyncio.run(go(12))
    assert provider.peak == 3 and provider.calls == 12 and not any(r.cached for r in first)
    again = asyncio.run(go(12))
    assert provider.calls == 12 and all(r.cached for r in again)
    assert [r.text for r in again] == [r.text for r in first]
    # Other params are another question.
    asyncio.run(caller.answer(ref, ask("q0"), ChatParams(temperature=0, max_tokens=5)))
    assert provider.calls == 13
    cache.close()


@pytest.mark.slow
def test_429_with_retry_after_pauses_the_lane_and_every_answer_arrives(local_provider, monkeypatch):
    from ftui_openai.provider import OpenAIProvider
    from ftui_openai.settings import OpenAISettings

    monkeypatch.setenv("FTUI_TEST_KEY", "sk-test")
    with serve(local_provider, api_key="sk-test") as served:
        host, port = served.url.split("//")[1].split("/")[0].split(":")
        with FaultProxy(host, int(port)) as proxy:
            proxy.inject(Fault("429", count=2, route=r"/chat/completions$", retry_after=0.3))
            remote = OpenAIProvider(
                OpenAISettings(base_url=proxy.url, api_key_env="FTUI_TEST_KEY", max_retries=0),
                profile="remote",
            )
            caller = Caller(lambda p: remote, concurrency=2)
            ref = ModelRef("tiny-llama", "remote")

            async def go() -> list[Any]:
                try:
                    return await asyncio.gather(*(caller.answer(ref, ask(f"q{i}"), PARAMS) for i in range(4)))
                finally:
                    await caller.aclose()

            results = asyncio.run(go())
            assert len(results) == 4 and all(isinstance(r.text, str) for r in results)
            assert len(proxy.injected("429")) == 2
            assert caller.lane("remote").waits >= 1


def test_errors_that_are_not_rate_limits_are_not_retried():
    class Refusing(Counting):
        async def chat(self, model, messages, params=None):  # type: ignore[override]
            self.calls += 1
            raise ProviderError("no such model", code="not_found", status=404)
            yield ""

    provider = Refusing()
    caller = Caller(lambda p: provider, concurrency=1)
    with pytest.raises(ProviderError, match="no such model"):
        asyncio.run(caller.answer(ModelRef("m", "p"), ask("q"), PARAMS))
    assert provider.calls == 1
