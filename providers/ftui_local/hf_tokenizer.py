"""Exact token counts for a local model: its own tokenizer and chat template (ftui.data.tokens.Tokenizer)."""

from __future__ import annotations

from typing import Any

from ftui.data.tokens import AtLeast
from ftui.errors import FtuiError

# The most text tokenized in one call. A Hugging Face tokenizer holds about a hundred times its
# input while it works (a 10 MB line took 2 GB), so longer text is counted window by window, and
# no further than it takes to know the example is over the model's context.
WINDOW_CHARS = 1 << 18
# A window's count may differ from the same text's inside the whole by a token or two at its cut.
_CUT_SLACK = 2


class HFTokenizer:
    """Counts what the local trainer trains on.

    - chat (`messages`): the rendered conversation, template tokens included;
    - prompt/completion: both texts plus the end-of-sequence token;
    - preference (`input` + `preferred_output` + `non_preferred_output`): the prompt with the longer
      of the two replies, since that is the longest sequence the trainer builds from the example.
    """

    exact = True

    def __init__(self, name: str) -> None:
        from ftui_local import models

        self.name = name
        self._tok = models.load_tokenizer(name)
        self.max_tokens_per_example: int | None = models.context_length(name)

    def _chat(self, messages: Any, tools: Any = None, generation_prompt: bool = False) -> int:
        from ftui_local.train_data import normalize_messages

        plain = [
            {"role": m["role"], "content": m["content"]} for m in normalize_messages(messages, "example")
        ]
        kwargs = {"tools": tools} if tools else {}
        text = self._tok.apply_chat_template(
            plain, tokenize=False, add_generation_prompt=generation_prompt, **kwargs
        )
        return self._count(text)

    def _text(self, text: Any) -> int:
        return self._count(str(text))

    def _count(self, text: str) -> int:
        """Tokens of `text`: exact up to WINDOW_CHARS; beyond, the sum over windows cut at
        whitespace, or AtLeast a bound once that is over the model's context."""
        if len(text) <= WINDOW_CHARS:
            return len(self._tok(text, add_special_tokens=False)["input_ids"])
        limit = self.max_tokens_per_example
        total = windows = start = 0
        while start < len(text):
            end = min(start + WINDOW_CHARS, len(text))
            if end < len(text):
                cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
                end = cut if cut > start else end
            total += len(self._tok(text[start:end], add_special_tokens=False)["input_ids"])
            windows += 1
            start = end
            if limit is not None and total - _CUT_SLACK * windows > limit:
                return AtLeast(total - _CUT_SLACK * windows)
        return total

    def count_example(self, example: dict[str, Any]) -> int:
        try:
            if "messages" in example:
                return self._chat(example["messages"], example.get("tools"))
            if "preferred_output" in example or "non_preferred_output" in example:
                prompt = (example.get("input") or {}).get("messages") or []
                tools = (example.get("input") or {}).get("tools")
                replies = [example.get(k) or [] for k in ("preferred_output", "non_preferred_output")]
                return max(self._chat([*prompt, *r], tools) for r in replies if prompt or r)
            if "prompt" in example:
                prompt, completion = example.get("prompt"), example.get("completion", "")
                if isinstance(prompt, list):
                    return self._chat([*prompt, *(completion if isinstance(completion, list) else [])])
                return self._text(prompt) + self._text(completion) + 1
        except (FtuiError, TypeError, KeyError, AttributeError, ValueError):
            return 0  # a malformed example: the validator reports it, counting must not crash
        return 0
