"""Reassembling a streamed reply from `invoke_endpoint_with_response_stream`.

The endpoint (TGI or vLLM) writes server-sent events, `data: {chat.completion.chunk}` lines ending
with `data: [DONE]`; SageMaker cuts that byte stream into event-stream PayloadParts wherever it likes:
mid-line, mid-JSON, even inside a multi-byte UTF-8 character. `SSELines` buffers bytes and hands out
whole lines; `delta_text` turns one `data:` payload into the text it adds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ftui.errors import ProviderError


class SSELines:
    """Bytes in, complete lines out (without their line ending)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [line.rstrip(b"\r").decode("utf-8", "replace") for line in lines]

    def close(self) -> list[str]:
        """What is left when the stream ends (a last line without a newline)."""
        rest, self._buffer = self._buffer, b""
        text = rest.rstrip(b"\r").decode("utf-8", "replace")
        return [text] if text.strip() else []


def data_of(line: str) -> str | None:
    """The payload of a `data:` line; None for blank lines, comments and other fields."""
    if not line.startswith("data:"):
        return None
    payload = line[5:]
    return payload[1:] if payload.startswith(" ") else payload


def delta_text(payload: str) -> str | None:
    """The text one event adds ("" for none), None at the end (`[DONE]`); a server error raises."""
    if payload.strip() == "[DONE]":
        return None
    try:
        event = json.loads(payload)
    except json.JSONDecodeError:
        raise ProviderError(
            f"the endpoint streamed a line that is not JSON: {payload[:200]!r}", code="bad_stream"
        ) from None
    if not isinstance(event, dict):
        return ""
    if "error" in event:
        error = event["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ProviderError(f"the endpoint failed mid-reply: {message}", code="model_error")
    text = []
    for choice in event.get("choices") or []:
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            text.append(delta["content"])
    token = event.get("token")  # TGI's generate stream, for an endpoint called without messages
    if isinstance(token, dict) and not token.get("special") and isinstance(token.get("text"), str):
        text.append(token["text"])
    return "".join(text)


def texts(parts: Iterable[bytes]) -> Iterator[str]:
    """Every piece of reply text in a stream of PayloadPart bytes, in order, up to [DONE]."""
    lines = SSELines()

    def pieces() -> Iterator[str]:
        for part in parts:
            yield from lines.feed(part)
        yield from lines.close()

    for line in pieces():
        payload = data_of(line)
        if payload is None:
            continue
        text = delta_text(payload)
        if text is None:
            return
        if text:
            yield text
