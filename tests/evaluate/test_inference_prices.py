"""What an evaluation's answers cost, from the one price file."""

from __future__ import annotations


def test_inference_prices_live_in_the_price_file_with_where_they_came_from() -> None:
    from ftui.evaluate.prices import cost_source, cost_usd

    # gpt-4o-mini: $0.15 / $0.60 per 1M (base), $0.30 / $1.20 fine-tuned, per prices.toml
    assert cost_usd("openai", "gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000) == 0.75
    assert cost_usd("openai", "ft:gpt-4o-mini-2024-07-18:org::abc", 1_000_000, 1_000_000) == 1.5
    assert cost_usd("openai", "davinci-002", 10, 10) is None  # priced for training only
    assert cost_usd("local", "gpt-4o-mini", 10, 10) == 0.0
    assert "not re-verified" in cost_source() and "2025" in cost_source()
