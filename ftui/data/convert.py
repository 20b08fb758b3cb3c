"""Convert other common dataset shapes to OpenAI chat JSONL, one line at a time.

Sources: legacy prompt/completion, alpaca (instruction/input/output), sharegpt
(conversations/from/value). Chat lines pass through unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftui.data import jsonl
from ftui.data.formats import detect
from ftui.data.outfile import atomic_writer, check_output
from ftui.data.validate import check_path
from ftui.errors import FtuiError, UsageError

SOURCE_FORMATS = ("prompt_completion", "alpaca", "sharegpt", "chat")
TARGETS = ("chat",)
_SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "bing": "assistant",
    "system": "system",
}
_MAX_REPORTED = 10


class ConvertError(ValueError):
    pass


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ConvertError(f"'{field}' must be a string")
    return value


def _from_prompt_completion(obj: dict[str, Any]) -> dict[str, Any]:
    # Legacy data carried a separator at the prompt's end and a space before the completion;
    # chat models need neither.
    prompt = _text(obj.get("prompt"), "prompt").strip()
    completion = _text(obj.get("completion"), "completion").strip()
    if not completion:
        raise ConvertError("'completion' is empty")
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]}


def _from_alpaca(obj: dict[str, Any]) -> dict[str, Any]:
    instruction = _text(obj.get("instruction"), "instruction").strip()
    extra = obj.get("input") or ""
    user = f"{instruction}\n\n{_text(extra, 'input').strip()}" if extra else instruction
    messages = []
    if isinstance(obj.get("system"), str) and obj["system"].strip():
        messages.append({"role": "system", "content": obj["system"]})
    messages += [
        {"role": "user", "content": user},
        {"role": "assistant", "content": _text(obj.get("output"), "output").strip()},
    ]
    return {"messages": messages}


def _from_sharegpt(obj: dict[str, Any]) -> dict[str, Any]:
    turns = obj.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise ConvertError("'conversations' must be a non-empty list")
    messages = []
    if isinstance(obj.get("system"), str) and obj["system"].strip():
        messages.append({"role": "system", "content": obj["system"]})
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise ConvertError(f"conversations[{i}] must be an object")
        who = turn.get("from", turn.get("role"))
        role = _SHAREGPT_ROLES.get(str(who).lower()) if who is not None else None
        if role is None:
            raise ConvertError(f"conversations[{i}].from is {json.dumps(who)}; expected human, gpt or system")
        messages.append(
            {
                "role": role,
                "content": _text(turn.get("value", turn.get("content")), f"conversations[{i}].value"),
            }
        )
    return {"messages": messages}


_CONVERTERS = {
    "prompt_completion": _from_prompt_completion,
    "alpaca": _from_alpaca,
    "sharegpt": _from_sharegpt,
}


def convert_example(obj: Any, source_format: str | None = None) -> dict[str, Any]:
    """One example as chat; raises ConvertError with a plain reason."""
    fmt = source_format or detect(obj)
    if not isinstance(obj, dict):
        raise ConvertError("line is not a JSON object")
    if fmt in ("chat", "reinforcement"):
        if not isinstance(obj.get("messages"), list):
            raise ConvertError("no 'messages' list")
        return obj
    converter = _CONVERTERS.get(fmt)
    if converter is None:
        raise ConvertError("unrecognised example (expected prompt/completion, alpaca or sharegpt keys)")
    return converter(obj)


def convert_file(
    src: Path,
    dst: Path,
    to: str = "chat",
    source_format: str | None = None,
    *,
    force: bool = False,
    skip_invalid: bool = False,
) -> int:
    """Write `src` converted to `to` at `dst`; returns the number of examples written.

    Lines that cannot be converted stop the conversion (nothing is written) unless `skip_invalid`.
    """
    src, dst = check_path(Path(src)), Path(dst)
    if to not in TARGETS:
        raise UsageError(f"cannot convert to {to!r}; choose one of {', '.join(TARGETS)}")
    if source_format is not None and source_format not in SOURCE_FORMATS:
        raise UsageError(
            f"unknown source format {source_format!r}; choose one of {', '.join(SOURCE_FORMATS)}"
        )
    check_output(dst, inputs=(src,), force=force)
    problems: list[str] = []
    failed = written = 0
    with atomic_writer(dst) as out:
        for line_no, text in jsonl.texts(src):
            try:
                if text is None:
                    raise ConvertError(f"over {jsonl.MAX_LINE_BYTES >> 20} MB on one line")
                example = convert_example(jsonl.parse(text), source_format)
            except (ValueError, ConvertError) as exc:
                failed += 1
                if len(problems) < _MAX_REPORTED:
                    problems.append(f"  line {line_no}: {exc}")
                continue
            out.write(json.dumps(example, ensure_ascii=False).encode("utf-8") + b"\n")
            written += 1
        if failed and not skip_invalid:
            more = f"\n  ... and {failed - len(problems)} more" if failed > len(problems) else ""
            raise FtuiError(
                f"{src}: {failed} line(s) cannot be converted; nothing was written "
                f"(pass --skip-invalid to leave them out):\n" + "\n".join(problems) + more
            )
    return written
