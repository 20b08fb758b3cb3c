"""Token counting. (The datasets issue fills this in; the protocol below is the contract.)"""

from __future__ import annotations

from typing import Any, Protocol


class Tokenizer(Protocol):
    name: str           # e.g. "o200k_base" or a Hugging Face tokenizer's name
    exact: bool         # False when the count is an approximation
    max_tokens_per_example: int | None

    def count_example(self, example: dict[str, Any]) -> int:
        """Tokens one training example is billed/trained as, chat-format overhead included."""
        ...
