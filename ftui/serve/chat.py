"""/v1/chat/completions, plain and streamed (SSE), on base models, fine-tuned models and checkpoints."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from functools import cache
from typing import TYPE_CHECKING, Any

# FastAPI resolves route annotations from module globals; this module is only imported by
# create_app, never on the `ftui --help` path.
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ftui import strict_json
from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import SEED_MAX, SEED_MIN, ChatMessage, ChatParams, Role
from ftui.serve.errors import APIError, bad_request, from_ftui, model_not_found
from ftui.serve.models import exposed

if TYPE_CHECKING:
    from ftui.serve.context import ServeContext

CLIENT_GONE = 499  # nginx's "client closed request": logged, never received

ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "developer",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool | None = False
    stream_options: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    # Any size is taken: the provider caps it to what the model's context leaves.
    max_completion_tokens: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = Field(default=None, max_length=4)
    seed: int | None = Field(default=None, ge=SEED_MIN, le=SEED_MAX)
    n: int | None = Field(default=1, ge=1, le=128)


def _text(content: Any, n: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise bad_request(
                    f"messages[{n}].content: only text parts are supported by this server (got {kind!r}).",
                    param=f"messages[{n}].content",
                )
        return "".join(parts)
    raise bad_request(
        f"messages[{n}].content must be a string or a list of parts.", param=f"messages[{n}].content"
    )


def to_messages(raw: list[dict[str, Any]]) -> list[ChatMessage]:
    out = []
    for n, m in enumerate(raw):
        role = ROLES.get(str(m.get("role")))
        if role is None:
            raise bad_request(
                f"Invalid value for 'messages[{n}].role': {m.get('role')!r}.",
                param=f"messages[{n}].role",
                code="invalid_value",
            )
        out.append(ChatMessage(role=role, content=_text(m.get("content"), n)))
    return out


@cache
def _encoding() -> Any:
    import quicktok

    return quicktok.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text)) if text else 0


def usage(messages: list[ChatMessage], completion: str) -> dict[str, int]:
    # The same per-message overhead OpenAI's cookbook counts; an estimate, not the model's tokenizer.
    prompt = sum(4 + count_tokens(m.content) for m in messages) + 3
    done = count_tokens(completion)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


async def until_disconnected(request: Request) -> None:
    """Returns when the client hangs up (the body was read already: the next message says so)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def shutting_down() -> APIError:
    return APIError(
        503,
        "The server is shutting down; retry once it is back.",
        type="server_error",
        code="server_shutting_down",
    )


def router(ctx: ServeContext) -> APIRouter:
    api = APIRouter()

    @api.post("/chat/completions", response_model=None)
    async def chat_completions(body: ChatRequest, request: Request) -> dict[str, Any] | Response:
        if (body.n or 1) > 1:
            raise bad_request(
                "This server returns one choice per request; n must be 1.", param="n", code="invalid_value"
            )
        if not await exposed(ctx, body.model):
            raise model_not_found(body.model)
        messages = to_messages(body.messages)
        stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
        max_tokens = body.max_completion_tokens or body.max_tokens or 256
        params = ChatParams(
            temperature=0.7 if body.temperature is None else body.temperature,
            top_p=body.top_p or 1.0,
            max_tokens=max_tokens,
            stop=stop,
            seed=body.seed,
        )
        with ctx.working():
            try:
                pieces = ctx.provider.chat(body.model, messages, params).__aiter__()
                # The first piece before answering, so an unknown model is a 404, not a broken stream.
                try:
                    first: str | None = await anext(pieces)
                except StopAsyncIteration:
                    first = None
                except ProviderError as exc:
                    # Any "no such model" (never made, deleted, not trained yet) reads as the models
                    # route reads it: OpenAI's model_not_found, whatever the provider's own wording.
                    if isinstance(exc, NotFound) or exc.status == 404:
                        raise model_not_found(body.model) from None
                    raise
                if not body.stream:
                    whole = await _whole(pieces, first or "", request)
                    if whole is None:
                        return Response(status_code=CLIENT_GONE)  # nobody is left to read it
                    text = whole
            except asyncio.CancelledError:
                if ctx.stopping:
                    raise shutting_down() from None
                raise
        completion_id = "chatcmpl-" + secrets.token_hex(12)
        created = int(time.time())

        def finish_reason(text: str) -> str:
            return "length" if count_tokens(text) >= max_tokens else "stop"

        if not body.stream:
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": finish_reason(text),
                        "logprobs": None,
                        "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                    }
                ],
                "usage": usage(messages, text),
                "service_tier": "default",
            }

        include_usage = bool((body.stream_options or {}).get("include_usage"))

        def frame(
            delta: dict[str, Any] | None, reason: str | None = None, usage_body: dict[str, int] | None = None
        ) -> str:
            chunk: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": []
                if delta is None
                else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}],
            }
            if include_usage:
                chunk["usage"] = usage_body
            return f"data: {strict_json.dumps(chunk)}\n\n"

        async def frames() -> AsyncIterator[str]:
            # A client that hangs up cancels this (Starlette watches for it), and so does a server
            # shutting down; either way `pieces` is closed and the generation stops.
            text = first or ""
            with ctx.working():
                try:
                    yield frame({"role": "assistant", "content": ""})
                    if first:
                        yield frame({"content": first})
                    async for piece in pieces:
                        text += piece
                        yield frame({"content": piece})
                    yield frame({}, finish_reason(text))
                    if include_usage:
                        yield frame(None, usage_body=usage(messages, text))
                except FtuiError as exc:
                    # Mid-stream there is no status left to set: OpenAI sends an error frame instead.
                    yield f"data: {strict_json.dumps(from_ftui(exc).body())}\n\n"
                except asyncio.CancelledError:
                    if not ctx.stopping:
                        raise
                    yield f"data: {strict_json.dumps(shutting_down().body())}\n\n"
                finally:
                    close = getattr(pieces, "aclose", None)  # an async generator, as providers write it
                    if close is not None:
                        await close()
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            frames(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )

    return api


async def _whole(pieces: AsyncIterator[str], text: str, request: Request) -> str | None:
    """The rest of the reply; None if the client hung up first (the generation is stopped)."""

    async def rest() -> str:
        nonlocal text
        async for piece in pieces:
            text += piece
        return text

    reading = asyncio.ensure_future(rest())
    gone = asyncio.ensure_future(until_disconnected(request))
    try:
        await asyncio.wait({reading, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not reading.done():
            reading.cancel()  # closes `pieces`: the provider stops generating
    if not reading.done() or reading.cancelled():
        return None
    return reading.result()
