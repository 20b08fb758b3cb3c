"""Token counting: exact for OpenAI models (offline, via quicktok), approximate for names we do not know.

A `Tokenizer` counts what one training example is billed and trained as, chat-format overhead
included. For chat examples that is OpenAI's published accounting (the fine-tuning data-prep
notebook): 3 tokens per message, the tokens of every message field, 1 more for `name`, and 3 to
prime the reply. Providers that train locally supply their own Tokenizer (the model's chat template).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ftui.data.model_names import base_model as base_model

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_REPLY = 3

# tiktoken's model tables, reduced to prefixes. Longest match wins, so "gpt-4o" beats "gpt-4".
_ENCODING_PREFIXES: dict[str, str] = {
    "gpt-4o": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.5": "o200k_base",
    "gpt-5": "o200k_base",
    "chatgpt-4o": "o200k_base",
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4-mini": "o200k_base",
    "gpt-oss": "o200k_harmony",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",  # Azure's spelling
    "davinci-002": "cl100k_base",
    "babbage-002": "cl100k_base",
}
DEFAULT_ENCODING = "o200k_base"  # every model still fine-tunable uses it


class AtLeast(int):
    """A token count known only as a lower bound: the example was too long to count to its end
    (it is over the model's context either way)."""


@runtime_checkable
class Tokenizer(Protocol):
    name: str  # e.g. "o200k_base" or a Hugging Face tokenizer's name
    exact: bool  # False when the count is an approximation
    max_tokens_per_example: int | None

    def count_example(self, example: dict[str, Any]) -> int:
        """Tokens one training example is billed/trained as, chat-format overhead included."""
        ...


def encoding_for(model: str | None) -> str | None:
    """The tiktoken encoding an OpenAI model uses, or None when the name is not an OpenAI model."""
    if not model:
        return DEFAULT_ENCODING
    base = base_model(model)
    for prefix in sorted(_ENCODING_PREFIXES, key=len, reverse=True):
        if base == prefix or base.startswith(prefix + "-") or base.startswith(prefix + ":"):
            return _ENCODING_PREFIXES[prefix]
    return None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Accounting:
    """The chat-format arithmetic shared by the exact and the approximate tokenizer.

    Subclasses set `_count_one(text) -> int`. Counts are cached per string (within a
    character budget), because real datasets repeat system prompts, roles and tool schemas.
    """

    name: str
    exact: bool
    max_tokens_per_example: int | None
    _cache_chars = 8_000_000  # bounds the cache's memory whatever the file's size

    def __init__(self, count_one: Callable[[str], int]) -> None:
        self._cache: dict[str, int] = {}
        self._cached_chars = 0
        # An attribute, not a method: the exact tokenizer rebinds it to the native counter.
        self._count_one = count_one

    def count_text(self, text: str) -> int:
        n = self._cache.get(text)
        if n is None:
            n = self._count_one(text)
            self._remember(text, n)
        return n

    def _remember(self, text: str, n: int) -> None:
        self._cached_chars += len(text) + 100  # + a dict entry's own weight, roughly
        if self._cached_chars > self._cache_chars:
            self._cache.clear()
            self._cached_chars = len(text) + 100
        self._cache[text] = n

    # -- what a streaming scan uses: plan the strings, count the new ones in batches ------------
    releases_gil = False  # True when count_texts runs native code without the GIL (a thread pays)

    def preload(self) -> threading.Thread | None:
        """Start loading whatever counting needs in a thread (returned; None when there is nothing
        to load). Counting waits for it."""
        return None

    @property
    def cache_lookup(self) -> Callable[[str], int | None]:
        """The cached count of a string, or None (the dict is cleared in place, never replaced)."""
        return self._cache.get

    def remember(self, text: str, n: int) -> None:
        self._remember(text, n)

    def count_texts(self, texts: list[str], threads: int = 1) -> list[int]:
        """Tokens of each string (no chat overhead), uncached."""
        count = self._count_one
        return [count(t) for t in texts]

    @staticmethod
    def plan(example: Any) -> tuple[int, list[str]]:
        """(fixed chat overhead, strings whose tokens add to it) for one example of any shape."""
        return _plan(example)

    # -- the accounting ---------------------------------------------------------------------
    def count_example(self, example: dict[str, Any]) -> int:
        return self.count_examples([example])[0]

    def count_examples(self, examples: list[dict[str, Any]]) -> list[int]:
        get, count, remember = self._cache.get, self._count_one, self._remember
        out = []
        for example in examples:
            total, texts = _plan(example)
            for text in texts:
                n = get(text)
                if n is None:
                    n = count(text)
                    remember(text, n)
                total += n
            out.append(total)
        return out


def _plan(example: Any) -> tuple[int, list[str]]:
    """(fixed overhead, strings to tokenize) for one example of any supported shape."""
    if not isinstance(example, dict):
        return 0, []
    texts: list[str] = []
    fixed = 0
    if "messages" in example or "input" in example:
        if "input" in example and isinstance(example["input"], dict):
            inner = example["input"]
            messages = list(_as_list(inner.get("messages")))
            for key in ("preferred_output", "non_preferred_output"):
                messages.extend(_as_list(example.get(key)))
            tools = inner.get("tools") or inner.get("functions")
        else:
            messages = _as_list(example.get("messages"))
            tools = example.get("tools") or example.get("functions")
        fixed += TOKENS_PER_MESSAGE * len(messages)
        for message in messages:
            if type(message) is not dict:
                continue
            for key, value in message.items():
                if type(value) is str:
                    texts.append(value)
                elif key == "weight" or value is None:
                    continue
                else:
                    _texts_of(value, texts)
                if key == "name":
                    fixed += TOKENS_PER_NAME
        if tools:
            texts.append(_json(tools))
        fixed += TOKENS_PER_REPLY
        return fixed, texts
    for key in ("prompt", "completion"):
        value = example.get(key)
        if isinstance(value, str):
            texts.append(value)
    return fixed, texts


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _texts_of(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        # Content parts: text is tokenized; other parts (images) count as their JSON, a lower bound.
        for part in value:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                out.append(part["text"])
            else:
                out.append(_json(part))
    else:
        out.append(_json(value))


class OpenAITokenizer(_Accounting):
    """Exact counts with OpenAI's encodings, from the vocabularies quicktok ships (works offline).

    Picklable (the native encoder is reloaded on the other side), so validation can fan out to
    worker processes.
    """

    exact = True

    def __init__(
        self,
        encoding: str = DEFAULT_ENCODING,
        *,
        max_tokens_per_example: int | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(self._bind_native)
        self.name = encoding
        self.model = model
        self.max_tokens_per_example = max_tokens_per_example
        self._enc: Any = None
        self._loading = threading.Lock()

    releases_gil = True  # quicktok counts without holding the GIL

    @property
    def encoder(self) -> Any:
        if self._enc is None:
            with self._loading:  # one load, whichever thread asks first
                if self._enc is None:
                    import quicktok

                    self._enc = quicktok.get_encoding(self.name)
        return self._enc

    def preload(self) -> threading.Thread | None:
        # The vocabulary takes 0.1-0.4 s to load, mostly without the GIL: load it while the
        # caller parses the file's first lines.
        if self._enc is not None:
            return None
        loader = threading.Thread(target=self._load_quietly, name="ftui-vocab", daemon=True)
        loader.start()
        return loader

    def _load_quietly(self) -> None:
        # A failure is raised again, in the caller's thread, when it asks for the encoder.
        with contextlib.suppress(Exception):
            _ = self.encoder

    def count_texts(self, texts: list[str], threads: int = 1) -> list[int]:
        # One native call per batch (quicktok's batch encoder, `threads` wide, GIL released):
        # per-string calls from a second thread would wait for the GIL after every string.
        if threads <= 1:  # same speed, and no numpy array to build
            count = self.encoder.count
            return [count(t) for t in texts]
        _, offsets = self.encoder.encode_batch(texts, max(1, threads), False)
        return (offsets[1:] - offsets[:-1]).tolist()

    def _bind_native(self, text: str) -> int:
        # Bound to the native encoder on first use; later calls skip this wrapper.
        self._count_one = self.encoder.count
        return self._count_one(text)

    def encode(self, text: str) -> list[int]:
        """Token ids, special-token strings treated as text (tiktoken's `encode_ordinary`)."""
        return list(self.encoder.encode_ordinary(text))

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "max_tokens_per_example": self.max_tokens_per_example}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A worker process gets the names and loads its own vocabulary, not a pickled one.
        OpenAITokenizer.__init__(
            self, state["name"], max_tokens_per_example=state["max_tokens_per_example"], model=state["model"]
        )


def _approximate_count(text: str) -> int:
    return (len(text) + 3) // 4


class ApproximateTokenizer(_Accounting):
    """For models whose tokenizer we cannot load: about 4 characters a token (English text)."""

    exact = False

    def __init__(self, model: str | None = None, *, max_tokens_per_example: int | None = None) -> None:
        super().__init__(_approximate_count)
        self.name = f"approximate ({model})" if model else "approximate"
        self.model = model
        self.max_tokens_per_example = max_tokens_per_example

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "max_tokens_per_example": self.max_tokens_per_example}

    def __setstate__(self, state: dict[str, Any]) -> None:
        ApproximateTokenizer.__init__(
            self, state["model"], max_tokens_per_example=state["max_tokens_per_example"]
        )


def tokenizer_for(model: str | None) -> Tokenizer:
    """The tokenizer for an OpenAI model name (fine-tuned `ft:` names included); approximate otherwise."""
    from ftui.data.prices import price_for

    price = price_for(model) if model else None
    limit = price.max_tokens_per_example if price else None
    encoding = encoding_for(model)
    if encoding is None:
        return ApproximateTokenizer(model, max_tokens_per_example=limit)
    return OpenAITokenizer(encoding, max_tokens_per_example=limit, model=model)


def count_examples(tokenizer: Tokenizer, examples: list[dict[str, Any]]) -> list[int]:
    """Batch counting where the tokenizer offers it; one by one otherwise."""
    batch = getattr(tokenizer, "count_examples", None)
    if batch is not None:
        return list(batch(examples))
    return [tokenizer.count_example(ex) for ex in examples]
