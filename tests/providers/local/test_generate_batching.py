"""Concurrent chats with the same local model share forward passes (one batch), and each still gets
the reply it would get alone: its own prompt, max_tokens, stop strings, and early abandon."""

from __future__ import annotations

import asyncio

import pytest
from ftui_local import generate
from ftui_local.generate import stream_chat
from support.eventually import eventually_sync

from ftui.model import ChatMessage, ChatParams

pytestmark = pytest.mark.slow

PROMPTS = ["Hello", "What is two plus two?", "A much longer question about the weather today?", "Hi"]


@pytest.fixture(autouse=True)
def cold_cache():
    generate.clear_cache()
    yield
    generate.clear_cache()


def alone(prompt: str, max_tokens: int, stop: list[str] | None = None) -> str:
    messages = [{"role": "user", "content": prompt}]
    return "".join(
        stream_chat("tiny-llama", None, messages, temperature=0, max_tokens=max_tokens, stop=stop or [])
    )


def test_concurrent_greedy_chats_are_batched_and_match_their_solo_replies(local_provider):
    solo = [alone(p, 6 + 3 * i) for i, p in enumerate(PROMPTS)]

    async def together() -> list[str]:
        async def one(i: int, prompt: str) -> str:
            params = ChatParams(temperature=0, max_tokens=6 + 3 * i)
            msgs = [ChatMessage(role="user", content=prompt)]
            return "".join([p async for p in local_provider.chat("tiny-llama", msgs, params)])

        # The first request loads nothing (the model is warm) and runs alone; the rest queue
        # behind it and go as one batch.
        return await asyncio.gather(*(one(i, p) for i, p in enumerate(PROMPTS)))

    generate._batcher.peak_size = 1
    batched = asyncio.run(together())
    assert batched == solo
    assert generate._batcher.peak_size > 1  # the last batch alone may be one straggler


def test_a_stop_string_ends_one_row_and_not_its_batch_mates():
    full = alone("Hello", 20)
    marker = full[4:6]
    expected = [full[: full.find(marker)], alone("Hi", 20)]
    pieces: list[list[object]] = [[], []]
    requests = [
        generate.Request(
            "tiny-llama",
            None,
            [{"role": "user", "content": p}],
            pieces[i].append,
            temperature=0,
            max_tokens=20,
            stop=stops,
        )
        for i, (p, stops) in enumerate([("Hello", [marker]), ("Hi", [])])
    ]
    for r in requests:
        generate.submit(r)
    for got in pieces:
        eventually_sync(lambda got=got: got and got[-1] is None, interval=0.01, what="the end of a row")
    assert ["".join(str(x) for x in got if isinstance(x, str)) for got in pieces] == expected
