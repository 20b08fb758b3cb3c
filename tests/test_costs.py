"""Cost before a run: the shared arithmetic and each built-in provider's answer."""

from __future__ import annotations

import pytest

from ftui.costs import estimate_line, per_token, with_epochs_for
from ftui.model import CostEstimate, DeploySpec, Hyperparameters, JobSpec


def spec(model: str = "gpt-4o-mini", epochs: int | str = "auto", method: str = "supervised") -> JobSpec:
    return JobSpec(
        base_model=model,
        training_file="t.jsonl",
        method=method,
        hyperparameters=Hyperparameters(n_epochs=epochs),
    )


def test_per_token_is_price_times_tokens_times_epochs_and_says_how() -> None:
    e = per_token(spec(epochs=2), 1_000_000, price_per_1m=3.0, source="price file", as_of="2026-11")
    assert e.total == 6.0 and e.billed_tokens == 2_000_000
    assert estimate_line(e) == "≈ $6.00 · 2 epochs × 1,000,000 tokens × $3.00 / 1M · price file, 2026-11"


def test_auto_epochs_follow_the_dataset_size_once_it_is_known() -> None:
    guessed = per_token(spec(), 1000, price_per_1m=3.0)
    assert "auto epochs taken as 3" in guessed.basis
    assert with_epochs_for(spec(), 10).hyperparameters.n_epochs == 10  # OpenAI's rule: 100 passes
    assert with_epochs_for(spec(epochs=4), 10).hyperparameters.n_epochs == 4


def test_no_price_or_no_token_count_is_said_not_guessed() -> None:
    assert estimate_line(per_token(spec("mystery"), 10, price_per_1m=None)).startswith("not priced")
    partial = per_token(spec(), None, price_per_1m=3.0)
    assert partial.total is None and partial.price_per_1m_tokens == 3.0
    hourly = per_token(spec("o4-mini", method="reinforcement"), 10, price_per_1m=None, per_hour=100.0)
    assert hourly.total is None and hourly.per_hour == 100.0 and "training hour" in hourly.basis


async def test_openai_prices_from_the_price_file_and_needs_no_deployment() -> None:
    from ftui_openai.provider import OpenAIProvider
    from ftui_openai.settings import OpenAISettings

    p = OpenAIProvider(OpenAISettings(base_url="http://127.0.0.1:9/v1"))
    e = await p.estimate_cost(spec("gpt-4o-mini-2024-07-18", epochs=3), 100_000)
    assert e.total == 0.9 and e.source and "pricing page" in e.source and e.as_of == "2026-11"
    rft = await p.estimate_cost(spec("o4-mini-2025-04-16", method="reinforcement"), 100_000)
    assert rft.per_hour == 100.0 and rft.total is None
    assert (await p.estimate_cost(spec("tiny-llama"), 100)).total is None
    assert "no deployment needed" in (await p.estimate_cost(DeploySpec(model="ft:x"))).basis


async def test_local_training_costs_nothing(local_provider) -> None:
    e = await local_provider.estimate_cost(spec("tiny-llama"), 10_000)
    assert e.total == 0.0 and "nothing is billed" in e.basis


@pytest.mark.parametrize(
    ("estimate", "line"),
    [
        (CostEstimate(per_hour=1.5, basis="1 × x"), "$1.50/hour · 1 × x"),
        (CostEstimate(total=0.001), "≈ $0.0010"),
        (CostEstimate(total=3.0, hours=2.25), "≈ $3.00 · about 2.2 h"),
    ],
)
def test_the_estimate_line(estimate: CostEstimate, line: str) -> None:
    assert estimate_line(estimate) == line
