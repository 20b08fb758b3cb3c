"""Checks on one parsed example. Each appends `(severity, code, message)` to `out`; none raises.

Codes follow OpenAI's fine-tuning data-prep notebook where it has one (`data_type`,
`missing_messages_list`, `message_missing_key`, `message_unrecognized_key`, `unrecognized_role`,
`missing_content`, `example_missing_assistant_message`); the rest are ours and stable.
The common case (plain role/content messages) takes a short path: this runs once per line on
files of gigabytes.
"""

from __future__ import annotations

import json
from typing import Any

from ftui.data.formats import SPECIAL_TOKENS, detect

ERROR, WARNING = "error", "warning"
Out = list[tuple[str, str, str]]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"})
CHAT_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
PREFERENCE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
_CONVERT_HINT = "convert it with `ftui data convert FILE --to chat -o OUT`"


def check(obj: Any, method: str, *, legacy_ok: bool = False) -> tuple[Out, int]:
    """Problems with one example for `method`, and its number of messages (0 where not chat)."""
    out: Out = []
    if not isinstance(obj, dict):
        out.append((ERROR, "data_type", f"each line must be a JSON object, not {_kind(obj)}"))
        return out, 0
    if method == "dpo":
        return out, _preference(obj, out)
    if method == "reinforcement":
        return out, _reinforcement(obj, out)
    return out, _supervised(obj, out, legacy_ok)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _wrong_shape(obj: dict[str, Any], out: Out, method: str, legacy_ok: bool) -> None:
    fmt = detect(obj)
    if fmt == "prompt_completion" and method == "supervised":
        if legacy_ok:
            _prompt_completion(obj, out)
            return
        out.append(
            (
                ERROR,
                "needs_conversion",
                'prompt/completion example: chat models train on {"messages": [...]}; ' + _CONVERT_HINT,
            )
        )
    elif fmt in ("alpaca", "sharegpt"):
        out.append((ERROR, "needs_conversion", f"{fmt} example: {_CONVERT_HINT}"))
    elif fmt == "preference":
        out.append(
            (
                ERROR,
                "method_mismatch",
                "preference (DPO) example in a file validated as " + method + "; use --method dpo",
            )
        )
    else:
        keys = ", ".join(sorted(map(str, obj))[:8]) or "none"
        out.append((ERROR, "missing_messages_list", f"no 'messages' list (keys: {keys})"))


# Roles of the common line that the scan checks on its short path (scan.parse_chunk).
PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})


# -- supervised ------------------------------------------------------------------------------
def _messages_list(obj: dict[str, Any], out: Out, method: str, legacy_ok: bool) -> list[Any] | None:
    """The example's non-empty `messages` list, or None after reporting why there is none."""
    messages = obj.get("messages")
    if messages is None:
        _wrong_shape(obj, out, method, legacy_ok)
        return None
    if not isinstance(messages, list) or not messages:
        out.append((ERROR, "missing_messages_list", "'messages' must be a non-empty list"))
        return None
    return messages


def _supervised(obj: dict[str, Any], out: Out, legacy_ok: bool) -> int:
    messages = _messages_list(obj, out, "supervised", legacy_ok)
    if messages is None:
        return 0
    _top_level(obj, CHAT_KEYS, out)
    assistants, trained = _messages(messages, "messages", out)
    if assistants == 0:
        out.append((ERROR, "example_missing_assistant_message", "no assistant message to learn from"))
    elif trained == 0:
        out.append((ERROR, "no_trainable_message", "every assistant message has weight 0: nothing to learn"))
    return len(messages)


def _top_level(obj: dict[str, Any], allowed: frozenset[str], out: Out) -> None:
    if len(obj) == 1:  # just the messages
        return
    if "tools" in obj:
        _tools(obj["tools"], "tools", out)
    if "functions" in obj:
        _tools(obj["functions"], "functions", out, legacy=True)
    if "parallel_tool_calls" in obj and not isinstance(obj["parallel_tool_calls"], bool):
        out.append((ERROR, "invalid_parallel_tool_calls", "'parallel_tool_calls' must be true or false"))
    extra = sorted(set(obj) - allowed)
    if extra:
        out.append((WARNING, "unrecognized_key", f"keys ignored in training: {', '.join(extra[:8])}"))


def _tools(tools: Any, where: str, out: Out, legacy: bool = False) -> None:
    if not isinstance(tools, list):
        out.append((ERROR, "invalid_tools", f"'{where}' must be a list"))
        return
    for i, tool in enumerate(tools):
        fn = tool if legacy else (tool.get("function") if isinstance(tool, dict) else None)
        if not legacy and isinstance(tool, dict) and tool.get("type") != "function":
            out.append((ERROR, "invalid_tools", f'{where}[{i}].type must be "function"'))
        elif not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn.get("name"):
            out.append((ERROR, "invalid_tools", f"{where}[{i}] needs a function with a 'name'"))


def _messages(messages: list[Any], where: str, out: Out) -> tuple[int, int]:
    """Check each message; returns (assistant messages, assistant messages trained on)."""
    assistants = trained = 0
    for i, m in enumerate(messages):
        # Short path: {"role": known, "content": non-empty plain text}.
        if type(m) is dict and len(m) == 2:
            role, content = m.get("role"), m.get("content")
            if (
                type(role) is str
                and role in ROLES
                and role != "tool"
                and type(content) is str
                and content
                and not content.isspace()
                and "<|" not in content
            ):
                if role == "assistant":
                    assistants += 1
                    trained += 1
                continue
        a, t = _message(m, f"{where}[{i}]", out)
        assistants += a
        trained += t
    return assistants, trained


def _message(m: Any, where: str, out: Out) -> tuple[int, int]:
    if not isinstance(m, dict):
        out.append((ERROR, "message_data_type", f"{where} must be an object, not {_kind(m)}"))
        return 0, 0
    role = m.get("role")
    if "role" not in m:
        out.append((ERROR, "message_missing_key", f"{where} has no 'role'"))
    elif type(role) is not str or role not in ROLES:
        out.append(
            (
                ERROR,
                "unrecognized_role",
                f"{where}.role is {json.dumps(role)[:40]}; "
                "expected system, developer, user, assistant or tool",
            )
        )
    extra = sorted(map(str, set(m) - MESSAGE_KEYS))
    if extra:
        out.append(
            (ERROR, "message_unrecognized_key", f"{where} has unrecognized keys: {', '.join(extra[:8])}")
        )

    calls = m.get("tool_calls") or m.get("function_call")
    if "content" not in m or m["content"] is None:
        if not (role == "assistant" and calls):
            out.append((ERROR, "message_missing_key", f"{where} has no 'content'"))
    else:
        _content(m["content"], role, where, out, allow_empty=role == "assistant" and bool(calls))

    if "name" in m and (not isinstance(m["name"], str) or not m["name"]):
        out.append((ERROR, "invalid_name", f"{where}.name must be a non-empty string"))
    if "tool_calls" in m:
        _tool_calls(m["tool_calls"], role, where, out)
    if "function_call" in m and (role != "assistant" or not isinstance(m["function_call"], dict)):
        out.append(
            (ERROR, "invalid_tool_calls", f"{where}.function_call must be an object on an assistant message")
        )
    if role == "tool" and not isinstance(m.get("tool_call_id"), str):
        out.append((ERROR, "message_missing_key", f"{where} is a tool message without a 'tool_call_id'"))

    trained = 1
    if "weight" in m:
        weight = m["weight"]
        if role != "assistant":
            out.append((ERROR, "invalid_weight", f"{where}.weight is only allowed on assistant messages"))
        elif type(weight) is not int or weight not in (0, 1):
            out.append(
                (ERROR, "invalid_weight", f"{where}.weight must be 0 or 1, not {json.dumps(weight)[:20]}")
            )
        elif weight == 0:
            trained = 0
    if role == "assistant":
        return 1, trained
    return 0, 0


def _content(content: Any, role: Any, where: str, out: Out, allow_empty: bool) -> None:
    if isinstance(content, str):
        if not content.strip() and not allow_empty:
            out.append((ERROR, "missing_content", f"{where}.content is empty"))
        _special_tokens(content, where, out)
        return
    if not isinstance(content, list):
        out.append((ERROR, "missing_content", f"{where}.content must be a string or a list of parts"))
        return
    if not content and not allow_empty:
        out.append((ERROR, "missing_content", f"{where}.content is an empty list"))
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            _special_tokens(part["text"], f"{where}.content[{j}]", out)
        elif kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                out.append((ERROR, "invalid_content_part", f"{where}.content[{j}].image_url needs a 'url'"))
            elif role == "assistant":
                out.append(
                    (
                        ERROR,
                        "invalid_content_part",
                        f"{where}.content[{j}]: assistant messages cannot hold images",
                    )
                )
        else:
            out.append(
                (
                    ERROR,
                    "invalid_content_part",
                    f"{where}.content[{j}] must be a text part "
                    '({"type": "text", "text": ...}) or an image_url part',
                )
            )


def _special_tokens(text: str, where: str, out: Out) -> None:
    if "<|" in text:
        for token in SPECIAL_TOKENS:
            if token in text:
                out.append((ERROR, "invalid_token", f"{where} contains the special token {token}"))


def _tool_calls(calls: Any, role: Any, where: str, out: Out) -> None:
    if role != "assistant":
        out.append((ERROR, "invalid_tool_calls", f"{where}.tool_calls is only allowed on assistant messages"))
        return
    if not isinstance(calls, list) or not calls:
        out.append((ERROR, "invalid_tool_calls", f"{where}.tool_calls must be a non-empty list"))
        return
    for k, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(fn, dict)
            or not isinstance(fn.get("name"), str)
            or not isinstance(call.get("id"), str)
        ):
            out.append(
                (
                    ERROR,
                    "invalid_tool_calls",
                    f"{where}.tool_calls[{k}] needs an 'id' and a function with a 'name'",
                )
            )
            continue
        args = fn.get("arguments")
        if not isinstance(args, str):
            out.append(
                (
                    ERROR,
                    "invalid_tool_calls",
                    f"{where}.tool_calls[{k}].function.arguments must be a JSON string",
                )
            )
            continue
        try:
            json.loads(args)
        except ValueError:
            out.append(
                (ERROR, "invalid_tool_calls", f"{where}.tool_calls[{k}].function.arguments is not valid JSON")
            )


# -- preference (DPO) ------------------------------------------------------------------------
def _preference(obj: dict[str, Any], out: Out) -> int:
    inner = obj.get("input")
    if inner is None and "input" not in obj:
        if "messages" in obj:
            out.append(
                (
                    ERROR,
                    "method_mismatch",
                    "chat example in a file validated as dpo; DPO lines need input, preferred_output "
                    "and non_preferred_output",
                )
            )
        else:
            out.append((ERROR, "missing_input", "no 'input' object with the prompt messages"))
        return 0
    n = 0
    if not isinstance(inner, dict) or not isinstance(inner.get("messages"), list) or not inner["messages"]:
        out.append((ERROR, "missing_input", "'input' must be an object with a non-empty 'messages' list"))
    else:
        messages = inner["messages"]
        n = len(messages)
        _messages(messages, "input.messages", out)
        last = messages[-1]
        if isinstance(last, dict) and last.get("role") == "assistant":
            out.append(
                (
                    ERROR,
                    "invalid_input",
                    "input.messages must not end with an assistant message: the outputs are the reply",
                )
            )
        _top_level(inner, CHAT_KEYS, out)
    outputs = []
    for key in ("preferred_output", "non_preferred_output"):
        value = obj.get(key)
        if (
            not isinstance(value, list)
            or len(value) != 1
            or not isinstance(value[0], dict)
            or value[0].get("role") != "assistant"
        ):
            out.append((ERROR, f"invalid_{key}", f"'{key}' must be a list of exactly one assistant message"))
            continue
        _message(value[0], f"{key}[0]", out)
        outputs.append(value[0])
    if (
        len(outputs) == 2
        and outputs[0].get("content") == outputs[1].get("content")
        and outputs[0].get("tool_calls") == outputs[1].get("tool_calls")
    ):
        out.append((WARNING, "identical_outputs", "preferred and non-preferred outputs are the same"))
    extra = sorted(map(str, set(obj) - PREFERENCE_KEYS))
    if extra:
        out.append((WARNING, "unrecognized_key", f"keys ignored in training: {', '.join(extra[:8])}"))
    return n + 1


# -- reinforcement ---------------------------------------------------------------------------
def _reinforcement(obj: dict[str, Any], out: Out) -> int:
    messages = _messages_list(obj, out, "reinforcement", False)
    if messages is None:
        return 0
    _messages(messages, "messages", out)
    last = messages[-1]
    if isinstance(last, dict) and last.get("role") != "user":
        out.append(
            (
                ERROR,
                "last_message_not_user",
                "the last message must be from the user: the model writes the reply that graders score",
            )
        )
    if "tools" in obj:
        _tools(obj["tools"], "tools", out)
    if not set(obj) - CHAT_KEYS:
        out.append(
            (
                WARNING,
                "no_reference_fields",
                "no fields besides 'messages' for graders to read as {{item.<field>}}",
            )
        )
    return len(messages)


# -- legacy prompt/completion ----------------------------------------------------------------
def _prompt_completion(obj: dict[str, Any], out: Out) -> None:
    for key in ("prompt", "completion"):
        if not isinstance(obj.get(key), str):
            out.append((ERROR, "missing_content", f"'{key}' must be a string"))
    if isinstance(obj.get("completion"), str) and not obj["completion"].strip():
        out.append((ERROR, "missing_content", "'completion' is empty"))
