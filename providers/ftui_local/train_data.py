"""Training files to what trl's trainers take: token ids with loss labels (SFT), prompt/chosen/rejected (DPO).

SFT examples are tokenized here rather than by trl, because OpenAI's chat format lets an assistant
message carry `"weight": 0` (keep it as context, do not learn it) and trl has no per-message weight.
Labels are built from the rendered chat template: a token is learned when it starts inside an
assistant turn of weight 1, and a turn spans from after the generation prompt to the end of that
message's rendering, so the end-of-turn token (e.g. `<|im_end|>`) is learned and the model learns to stop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ftui.errors import FtuiError

IGNORE = -100


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's examples, read exactly as `ftui data validate` reads them (ftui.data.jsonl)."""
    from ftui.data.jsonl import read_objects

    for lineno, obj in read_objects(Path(path)):
        if not isinstance(obj, dict):
            raise FtuiError(f"{path}:{lineno}: each line must be a JSON object")
        yield lineno, obj


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def normalize_messages(messages: Any, where: str, field: str = "messages") -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise FtuiError(f"{where}: field '{field}' must be a non-empty list of messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise FtuiError(f"{where}: field '{field}[{i}]' must be an object with a 'role'")
        text = _content_text(m.get("content"))
        if m.get("tool_calls"):
            text += json.dumps(m["tool_calls"], ensure_ascii=False)
        msg: dict[str, Any] = {"role": m["role"], "content": text}
        if "weight" in m:
            if m["weight"] not in (0, 1):
                raise FtuiError(f"{where}: field '{field}[{i}].weight' must be 0 or 1")
            msg["weight"] = m["weight"]
        out.append(msg)
    return out


def _render(tokenizer: Any, messages: list[dict[str, Any]], tools: Any, generation_prompt: bool) -> str:
    plain = [{"role": m["role"], "content": m["content"]} for m in messages]
    kwargs = {"tools": tools} if tools else {}
    return tokenizer.apply_chat_template(
        plain, tokenize=False, add_generation_prompt=generation_prompt, **kwargs
    )


def _spans(tokenizer: Any, messages: list[dict[str, Any]], tools: Any) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans to learn."""
    full = _render(tokenizer, messages, tools, False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant" or m.get("weight", 1) == 0:
            continue
        before = _render(tokenizer, messages[:i], tools, True)
        upto = _render(tokenizer, messages[: i + 1], tools, False)
        if not (full.startswith(upto) and upto.startswith(before)):
            # A template that rewrites earlier turns (e.g. drops past reasoning): learn the text itself.
            start = full.find(m["content"], len(before) if full.startswith(before) else 0)
            if start < 0:
                continue
            spans.append((start, start + len(m["content"])))
            continue
        spans.append((len(before), len(upto)))
    return full, spans


def encode_chat(tokenizer: Any, messages: list[dict[str, Any]], tools: Any = None) -> dict[str, list[int]]:
    """input_ids and labels (IGNORE where the loss must not look) for one conversation."""
    full, spans = _spans(tokenizer, messages, tools)
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        labels = [
            tid if any(s <= start < e for s, e in spans) else IGNORE
            for tid, (start, _end) in zip(ids, enc["offset_mapping"], strict=True)
        ]
        return {"input_ids": ids, "labels": labels}
    # Slow tokenizers have no offsets: tokenize piece by piece along the span borders.
    ids, labels, pos = [], [], 0
    for s, e in [*spans, (len(full), len(full))]:
        for text, learn in ((full[pos:s], False), (full[s:e], True)):
            piece = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
            ids += piece
            labels += piece if learn else [IGNORE] * len(piece)
        pos = e
    return {"input_ids": ids, "labels": labels}


def encode_prompt_completion(tokenizer: Any, prompt: str, completion: str) -> dict[str, list[int]]:
    p = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        c = [*c, tokenizer.eos_token_id]
    return {"input_ids": p + c, "labels": [IGNORE] * len(p) + c}


def load_sft(path: str | Path, tokenizer: Any, max_length: int) -> tuple[list[dict[str, Any]], int]:
    """Tokenized examples, and how many had to be dropped (nothing left to learn after truncation)."""
    rows, dropped = [], 0
    for lineno, obj in read_jsonl(path):
        where = f"{path}:{lineno}"
        if "messages" in obj:
            messages = normalize_messages(obj["messages"], where)
            if not any(m["role"] == "assistant" for m in messages):
                raise FtuiError(f"{where}: field 'messages' has no assistant message to learn from")
            enc = encode_chat(tokenizer, messages, obj.get("tools"))
        elif "prompt" in obj and "completion" in obj:
            if isinstance(obj["prompt"], list):
                # Conversational prompt/completion: the prompt's assistant turns are context only.
                prompt = [{**m, "weight": 0} for m in normalize_messages(obj["prompt"], where, "prompt")]
                completion = normalize_messages(obj["completion"], where, "completion")
                enc = encode_chat(tokenizer, prompt + completion, obj.get("tools"))
            else:
                enc = encode_prompt_completion(tokenizer, str(obj["prompt"]), str(obj["completion"]))
        else:
            raise FtuiError(f"{where}: missing field 'messages' (chat) or 'prompt' and 'completion'")
        row: dict[str, Any] = {k: v[:max_length] for k, v in enc.items()}
        if all(label == IGNORE for label in row["labels"]):
            dropped += 1
            continue
        row["length"] = len(row["input_ids"])
        rows.append(row)
    if not rows:
        raise FtuiError(
            f"{path}: no example left to train on (empty file, or every example is longer than "
            f"max_length={max_length} before its first trained token)"
        )
    return rows, dropped


def load_dpo(path: str | Path) -> list[dict[str, Any]]:
    """OpenAI's preference format mapped to trl's conversational prompt/chosen/rejected."""
    rows = []
    for lineno, obj in read_jsonl(path):
        where = f"{path}:{lineno}"
        if {"prompt", "chosen", "rejected"} <= obj.keys():
            rows.append({k: obj[k] for k in ("prompt", "chosen", "rejected")})
            continue
        inp = obj.get("input")
        if not isinstance(inp, dict):
            raise FtuiError(f"{where}: missing field 'input' (an object with 'messages')")
        for field in ("preferred_output", "non_preferred_output"):
            if field not in obj:
                raise FtuiError(f"{where}: missing field '{field}'")
        prompt = normalize_messages(inp.get("messages"), where, "input.messages")
        chosen = normalize_messages(obj["preferred_output"], where, "preferred_output")
        rejected = normalize_messages(obj["non_preferred_output"], where, "non_preferred_output")
        strip = lambda ms: [{"role": m["role"], "content": m["content"]} for m in ms]  # noqa: E731
        rows.append({"prompt": strip(prompt), "chosen": strip(chosen), "rejected": strip(rejected)})
    if not rows:
        raise FtuiError(f"{path}: no example to train on (the file is empty)")
    return rows


def count_lines(path: str | Path) -> int:
    return sum(1 for _ in read_jsonl(path))
