"""What an evaluation's answers cost, in US dollars, from the inference prices in the one price
file (`ftui/data/prices.toml`, which says where they came from and when).

Local models cost nothing per token (your own hardware). Models the file does not price are
"not priced" rather than guessed.
"""

from __future__ import annotations

FREE_PROVIDERS = frozenset({"local"})


def cost_usd(provider: str, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    if provider in FREE_PROVIDERS:
        return 0.0
    from ftui.data.prices import inference_price

    row = inference_price(model)
    if row is None:
        return None
    fine_tuned = model.strip().startswith("ft:")
    p_in = row.ft_input_per_1m if fine_tuned else row.input_per_1m
    p_out = row.ft_output_per_1m if fine_tuned else row.output_per_1m
    if p_in is None or p_out is None:
        return None
    return round((prompt_tokens * p_in + completion_tokens * p_out) / 1_000_000, 6)


def cost_source() -> str:
    """Where the inference prices came from, to print beside any figure made from them."""
    from ftui.data.prices import figure_provenance

    said = figure_provenance("inference")
    return said.source + (f" ({said.as_of})" if said.as_of and said.as_of not in said.source else "")
