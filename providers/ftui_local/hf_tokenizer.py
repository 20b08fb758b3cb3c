"""Exact token counts for a local model: its own tokenizer and chat template (ftui.data.tokens.Tokenizer)."""

from __future__ import annotations

from typing import Any

from ftui.errors import FtuiError


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
        return len(self._tok(text, add_special_tokens=False)["input_ids"])

    def _text(self, text: Any) -> int:
        return len(self._tok(str(text), add_special_tokens=False)["input_ids"])

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
