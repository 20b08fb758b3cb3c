"""Dataset formats: what a line looks like, and which training method a format feeds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Format = Literal["chat", "preference", "reinforcement", "prompt_completion", "alpaca", "sharegpt", "unknown"]
METHODS = ("supervised", "dpo", "reinforcement")

# Formats `ftui data convert` turns into chat.
CONVERTIBLE = ("prompt_completion", "alpaca", "sharegpt")

# Special-token strings OpenAI rejects inside training text (cl100k and o200k sets).
SPECIAL_TOKENS = ("<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>")


def detect(obj: Any) -> Format:
    """The format of one parsed line, from its keys alone."""
    if not isinstance(obj, dict):
        return "unknown"
    if "messages" in obj:
        return "reinforcement" if _looks_reinforcement(obj) else "chat"
    if "input" in obj and ("preferred_output" in obj or "non_preferred_output" in obj):
        return "preference"
    if "conversations" in obj:
        return "sharegpt"
    if "instruction" in obj and "output" in obj:
        return "alpaca"
    if "prompt" in obj and "completion" in obj:
        return "prompt_completion"
    return "unknown"


def _looks_reinforcement(obj: dict[str, Any]) -> bool:
    # A prompt to be answered (last message from the user, no reply) plus fields for the graders.
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    last = messages[-1]
    has_reply = any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages)
    extra = set(obj) - {"messages", "tools", "functions", "parallel_tool_calls"}
    return isinstance(last, dict) and last.get("role") == "user" and not has_reply and bool(extra)


def method_for(fmt: str) -> str:
    return {"preference": "dpo", "reinforcement": "reinforcement"}.get(fmt, "supervised")


def majority(formats: Mapping[Format, int]) -> Format:
    """The file's format: the most common recognised one among the lines sniffed."""
    known = {f: n for f, n in formats.items() if f != "unknown"}
    if not known:
        return "unknown"
    return max(known, key=lambda f: known[f])
