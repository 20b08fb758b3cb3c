"""What an evaluation's answers cost: US dollars per 1M input and output tokens, per model family.

Local models cost nothing per token (your own hardware). The table holds OpenAI's list prices for
the fine-tunable families, fine-tuned (`ft:`) and base, as published on its pricing page in 2025
(not re-checked against a live source here: correct them in this table if they moved). Models not
in it are "not priced" rather than guessed.
"""

from __future__ import annotations

# prefix: (base input, base output, fine-tuned input, fine-tuned output), $ per 1M tokens
PRICES: dict[str, tuple[float, float, float, float]] = {
    "gpt-4.1": (2.00, 8.00, 3.00, 12.00),
    "gpt-4.1-mini": (0.40, 1.60, 0.80, 3.20),
    "gpt-4.1-nano": (0.10, 0.40, 0.20, 0.80),
    "gpt-4o": (2.50, 10.00, 3.75, 15.00),
    "gpt-4o-mini": (0.15, 0.60, 0.30, 1.20),
    "gpt-3.5-turbo": (0.50, 1.50, 3.00, 6.00),
}
FREE_PROVIDERS = frozenset({"local"})


def cost_usd(provider: str, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    if provider in FREE_PROVIDERS:
        return 0.0
    from ftui.data.tokens import base_model

    base = base_model(model)
    best = max((p for p in PRICES if base == p or base.startswith(p + "-")), key=len, default=None)
    if best is None:
        return None
    b_in, b_out, f_in, f_out = PRICES[best]
    fine_tuned = model.strip().startswith("ft:")
    p_in, p_out = (f_in, f_out) if fine_tuned else (b_in, b_out)
    return round((prompt_tokens * p_in + completion_tokens * p_out) / 1_000_000, 6)
