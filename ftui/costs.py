"""Cost before a run: the arithmetic providers share, and the one line every front end shows.

A provider answers `estimate_cost(spec, tokens)` from its own price data; the job form,
`ftui jobs create --dry-run` and the Datasets pane call `training_estimate`, which first turns
"auto" epochs into the number the backend will pick for this dataset, so all three agree.
"""

from __future__ import annotations

from typing import Any

from ftui.model import CostEstimate, JobSpec
from ftui.provider import Provider

AUTO_EPOCHS = 3  # what "auto" means when the dataset's size is not known (OpenAI's target)


def epochs_of(spec: JobSpec) -> tuple[int, bool]:
    """(epochs, whether that is a guess for "auto")."""
    n = spec.hyperparameters.n_epochs
    return (n, False) if isinstance(n, int) else (AUTO_EPOCHS, True)


def with_epochs_for(spec: JobSpec, examples: int | None) -> JobSpec:
    """`spec` with "auto" epochs replaced by what OpenAI's rule picks for `examples` examples."""
    if isinstance(spec.hyperparameters.n_epochs, int) or not examples:
        return spec
    from ftui.data.prices import default_epochs

    hp = spec.hyperparameters.model_copy(update={"n_epochs": default_epochs(examples)})
    return spec.model_copy(update={"hyperparameters": hp})


async def training_estimate(
    provider: Provider[Any], spec: JobSpec, tokens_per_epoch: int | None, examples: int | None = None
) -> CostEstimate:
    """What the provider says `spec` will cost, on a training file of `tokens_per_epoch` billed
    tokens and `examples` examples (both from its validation report)."""
    return await provider.estimate_cost(with_epochs_for(spec, examples), tokens_per_epoch)


def per_token(
    spec: JobSpec,
    tokens: int | None,
    *,
    price_per_1m: float | None,
    per_hour: float | None = None,
    source: str | None = None,
    as_of: str | None = None,
) -> CostEstimate:
    """A per-token training price (OpenAI, Azure OpenAI): price × tokens per epoch × epochs.
    Reinforcement runs bill per training hour instead, which cannot be known before the run."""
    if spec.method == "reinforcement" or (price_per_1m is None and per_hour is not None):
        if per_hour is None:
            return CostEstimate(basis=f"no reinforcement price for {spec.base_model}", source=source)
        return CostEstimate(
            per_hour=per_hour,
            basis=f"billed per training hour at ${per_hour:,.2f}/hour; the hours are known only after",
            source=source,
            as_of=as_of,
        )
    if price_per_1m is None:
        return CostEstimate(basis=f"no training price for {spec.base_model}", source=source)
    if tokens is None:
        return CostEstimate(
            price_per_1m_tokens=price_per_1m,
            basis=f"${price_per_1m:,.2f} / 1M training tokens; validate the file for a total",
            source=source,
            as_of=as_of,
        )
    n, guessed = epochs_of(spec)
    return CostEstimate(
        total=round(price_per_1m * tokens * n / 1e6, 4),
        billed_tokens=tokens * n,
        price_per_1m_tokens=price_per_1m,
        basis=f"{n} epochs × {tokens:,} tokens × ${price_per_1m:,.2f} / 1M"
        + (" (auto epochs taken as 3)" if guessed else ""),
        source=source,
        as_of=as_of,
    )


def money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"


def estimate_line(estimate: CostEstimate) -> str:
    """One line: the figure, how it was reached, and where the price came from and when."""
    if estimate.total is not None:
        head = f"≈ {money(estimate.total)}" if estimate.total else money(0)  # nothing: exactly nothing
    elif estimate.per_hour is not None:
        head = f"{money(estimate.per_hour)}/hour"
    else:
        head = "not priced"
    parts = [head]
    if estimate.hours:
        parts.append(f"about {estimate.hours:,.1f} h")
    if estimate.basis:
        parts.append(estimate.basis)
    if estimate.source:
        parts.append(estimate.source + (f", {estimate.as_of}" if estimate.as_of else ""))
    return " · ".join(parts)
