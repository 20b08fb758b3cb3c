"""Streaming chat from tiny-llama: base model, base plus a trained adapter, stop strings, warm cache."""

from __future__ import annotations

import pytest
import torch
from ftui_local import generate, train
from ftui_local.generate import _held_back, count_tokens, get_model, prompt_ids, stream_chat

pytestmark = pytest.mark.slow

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(autouse=True)
def cold_cache():
    generate.clear_cache()
    yield
    generate.clear_cache()


def test_base_model_streams_several_pieces_and_greedy_is_repeatable():
    pieces = list(stream_chat("tiny-llama", None, HELLO, temperature=0, max_tokens=12, stop=[]))
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces)
    again = "".join(stream_chat("tiny-llama", None, HELLO, temperature=0, max_tokens=12, stop=[]))
    assert "".join(pieces) == again


def test_seeded_sampling_is_repeatable():
    kw = dict(temperature=1.0, top_p=0.9, max_tokens=10, stop=[], seed=3)
    assert "".join(stream_chat("tiny-llama", None, HELLO, **kw)) == "".join(
        stream_chat("tiny-llama", None, HELLO, **kw)
    )


def test_stop_string_ends_the_reply_before_it():
    full = "".join(stream_chat("tiny-llama", None, HELLO, temperature=0, max_tokens=20, stop=[]))
    assert len(full) >= 6
    marker = full[3:5]
    cut = "".join(stream_chat("tiny-llama", None, HELLO, temperature=0, max_tokens=20, stop=[marker]))
    assert cut == full[: full.find(marker)]


def test_held_back_keeps_a_possible_stop_prefix():
    assert _held_back("abc<|", ["<|end|>"]) == 2
    assert _held_back("abc", ["<|end|>"]) == 0


def test_adapter_from_a_trained_job_is_applied_and_kept_warm(make_job, chat_file):
    job = make_job(
        chat_file, hyperparameters={"n_epochs": 1, "batch_size": 8, "learning_rate_multiplier": 50}
    )
    assert train.run(job.path) == 0

    tuned = list(stream_chat("tiny-llama", job.adapter_dir, HELLO, temperature=0, max_tokens=8, stop=[]))
    assert tuned
    model, tokenizer = get_model("tiny-llama", job.adapter_dir, "cpu")
    assert type(model).__name__ == "PeftModelForCausalLM"
    assert get_model("tiny-llama", job.adapter_dir, "cpu")[0] is model  # warm: not reloaded
    base, _ = get_model("tiny-llama", None, "cpu")
    ids = torch.tensor([prompt_ids(tokenizer, HELLO)])
    with torch.no_grad():
        assert not torch.allclose(base(ids).logits, model(ids).logits)  # the adapter is applied
    checkpoint = job.checkpoints()[-1]["path"]
    assert "".join(stream_chat("tiny-llama", checkpoint, HELLO, temperature=0, max_tokens=8, stop=[]))


def test_closing_the_stream_early_stops_generation():
    stream = stream_chat("tiny-llama", None, HELLO, temperature=0, max_tokens=500, stop=[])
    first = next(stream)
    stream.close()
    assert first
    # The lock is free again: a new turn runs.
    assert "".join(stream_chat("tiny-llama", None, HELLO, temperature=0, max_tokens=3, stop=[]))


def test_count_tokens_includes_the_chat_template():
    assert count_tokens("tiny-llama", HELLO) > len("Hello")
    assert count_tokens("tiny-llama", text="abc") == 3
