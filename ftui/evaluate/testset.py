"""Test examples, few-shot examples and train/test overlap.

A test file is chat JSONL. When its last message is from the assistant (the training format), that
message is the reference answer (`{{item.reference}}`) and the messages before it are the prompt.
When the last message is from the user (reinforcement format), all messages are the prompt and the
row's other fields are what graders read (`{{item.<field>}}`). Either way every field of the row is
in the item.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftui.errors import FtuiError
from ftui.model import ChatMessage

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_LINE_BYTES = 32 * 1024 * 1024


@dataclass
class Example:
    index: int  # 0-based position among the examples
    line: int  # 1-based line in the file
    prompt: list[ChatMessage]
    reference: str | None
    item: dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        """What makes two examples the same one (prompt and reference), exactly."""
        return json.dumps([[m.role, m.content] for m in self.prompt] + [self.reference], ensure_ascii=False)

    def loose_key(self) -> str:
        """The same, with runs of whitespace collapsed (a re-wrapped copy is still a copy)."""
        return re.sub(r"\s+", " ", self.key()).strip()


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is None:
        return ""
    raise FtuiError(f"{where}: field 'content' must be a string or a list of text parts")


def parse_row(obj: Any, where: str, index: int, line: int) -> Example:
    if not isinstance(obj, dict):
        raise FtuiError(f"{where}: each line must be a JSON object")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise FtuiError(f"{where}: field 'messages' must be a non-empty list of messages")
    parsed = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise FtuiError(f"{where}: field 'messages[{i}].role' must be one of {', '.join(ROLES)}")
        parsed.append(ChatMessage(role=m["role"], content=_text(m.get("content"), f"{where}: messages[{i}]")))
    item = dict(obj)
    if parsed[-1].role == "assistant":
        reference: str | None = parsed[-1].content
        prompt = parsed[:-1]
        item.setdefault("reference", reference)
    else:
        reference = item.get("reference") if isinstance(item.get("reference"), str) else None
        prompt = parsed
    if not any(m.role == "user" for m in prompt):
        raise FtuiError(f"{where}: field 'messages' has no user message to answer")
    return Example(index=index, line=line, prompt=prompt, reference=reference, item=item)


def load_examples(path: str | Path, *, limit: int | None = None) -> list[Example]:
    p = Path(path).expanduser()
    try:
        fh = p.open("rb")
    except FileNotFoundError:
        raise FtuiError(f"{p}: no such file") from None
    except OSError as exc:
        raise FtuiError(f"{p}: cannot read: {exc}") from None
    out: list[Example] = []
    with fh:
        for n, raw in enumerate(fh, 1):
            if len(raw) > MAX_LINE_BYTES:
                raise FtuiError(f"{p}:{n}: line longer than {MAX_LINE_BYTES // (1024 * 1024)} MB")
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except UnicodeDecodeError:
                raise FtuiError(f"{p}:{n}: not UTF-8 text") from None
            except json.JSONDecodeError as exc:
                raise FtuiError(f"{p}:{n}: not valid JSON ({exc.msg}, column {exc.colno})") from None
            out.append(parse_row(obj, f"{p}:{n}", len(out), n))
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise FtuiError(f"{p}: no examples (the file is empty)")
    return out


@dataclass
class Overlap:
    exact: list[int]  # test example indexes found verbatim in the training file
    whitespace: list[int]  # found only after collapsing whitespace

    @property
    def count(self) -> int:
        return len(self.exact) + len(self.whitespace)


def overlap(test: list[Example], train: list[Example]) -> Overlap:
    exact_keys = {e.key() for e in train}
    loose_keys = {e.loose_key() for e in train}
    exact, loose = [], []
    for e in test:
        if e.key() in exact_keys:
            exact.append(e.index)
        elif e.loose_key() in loose_keys:
            loose.append(e.index)
    return Overlap(exact, loose)


def few_shot(train: list[Example], k: int, seed: int, avoid: list[Example]) -> list[ChatMessage]:
    """K training examples (drawn with `seed`), as user/assistant turns to put before a prompt.

    Examples that are also test examples are never drawn: that would hand the model the answer."""
    if k <= 0:
        return []
    banned = {e.loose_key() for e in avoid}
    pool = [e for e in train if e.reference is not None and e.loose_key() not in banned]
    if len(pool) < k:
        raise FtuiError(
            f"--few-shot {k}: the training file has only {len(pool)} usable example(s) "
            "(with an assistant answer, and not in the test set)"
        )
    chosen = random.Random(seed).sample(pool, k)
    turns: list[ChatMessage] = []
    for e in chosen:
        turns += [m for m in e.prompt if m.role != "system"]
        turns.append(ChatMessage(role="assistant", content=e.reference or ""))
    return turns


def with_shots(prompt: list[ChatMessage], shots: list[ChatMessage]) -> list[ChatMessage]:
    """The prompt with the shots after its leading system messages."""
    if not shots:
        return prompt
    head = 0
    while head < len(prompt) and prompt[head].role in ("system", "developer"):
        head += 1
    return [*prompt[:head], *shots, *prompt[head:]]
