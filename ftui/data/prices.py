"""Training prices and per-example limits, read from `prices.toml` beside this module."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

from ftui.data.model_names import base_model

PRICES_FILE = Path(__file__).with_name("prices.toml")

# OpenAI's default-epochs heuristic (fine-tuning data-prep notebook): aim for 3 epochs, but at
# least 100 and at most 25,000 example-passes in all.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MAX_DEFAULT_EPOCHS = 25


# A dataclass, not a pydantic model: the table is our own file, checked by a test, and validation
# reads it before a scan starts, where pydantic's import would cost a tenth of a 40 MB scan.
@dataclass(frozen=True)
class ModelPrice:
    prefix: str
    training_per_1m: float | None = None
    training_per_hour: float | None = None
    max_tokens_per_example: int | None = None
    legacy_completions: bool = False
    # inference, $ per 1M tokens: base model, and a model fine-tuned from it
    input_per_1m: float | None = None
    output_per_1m: float | None = None
    ft_input_per_1m: float | None = None
    ft_output_per_1m: float | None = None
    source: str | None = None  # where this row's prices came from (default: the file's provenance)
    as_of: str | None = None  # and when they were read (YYYY-MM or YYYY-MM-DD)


@dataclass(frozen=True)
class Provenance:
    source: str
    as_of: str


_TYPES = {
    "training_per_1m": (int, float),
    "training_per_hour": (int, float),
    "max_tokens_per_example": (int,),
    "legacy_completions": (bool,),
    "input_per_1m": (int, float),
    "output_per_1m": (int, float),
    "ft_input_per_1m": (int, float),
    "ft_output_per_1m": (int, float),
    "source": (str,),
    "as_of": (str,),
}


@cache
def _raw() -> dict[str, Any]:
    with PRICES_FILE.open("rb") as fh:
        return tomllib.load(fh)


@cache
def _table() -> dict[str, ModelPrice]:
    table = {}
    for prefix, row in _raw().get("models", {}).items():
        for key, value in row.items():
            allowed = _TYPES.get(key)
            if allowed is None or type(value) not in allowed:
                raise ValueError(
                    f'{PRICES_FILE}: [models."{prefix}"] {key} = {value!r}: '
                    f"expected one of {', '.join(f.name for f in fields(ModelPrice)[1:])}"
                    " with a number (true/false for legacy_completions, text for source and as_of)"
                )
        table[prefix] = ModelPrice(prefix=prefix, **row)
    return table


def source() -> str:
    return str(_raw().get("source", ""))


def provenance(row: ModelPrice, figure: str = "training_per_1m") -> Provenance:
    """Where `row`'s `figure` came from and when: the row's own note, else the file's for that figure."""
    default = _raw().get("provenance", {}).get(figure, {})
    return Provenance(
        source=row.source or str(default.get("source") or source()),
        as_of=row.as_of or str(default.get("as_of") or ""),
    )


def figure_provenance(figure: str) -> Provenance:
    """The file's note on where a kind of figure ("inference", "training_per_1m") came from."""
    said = _raw().get("provenance", {}).get(figure, {})
    return Provenance(source=str(said.get("source") or source()), as_of=str(said.get("as_of") or ""))


def inference_price(model: str | None) -> ModelPrice | None:
    """The longest-matching row that prices inference for `model`, or None."""
    return price_for(model, lambda row: row.input_per_1m is not None)


def price_for(model: str | None, having: Callable[[ModelPrice], bool] | None = None) -> ModelPrice | None:
    """The price row (among those `having` accepts) whose prefix is the longest match for `model`'s
    base name, or None."""
    if not model:
        return None
    base = base_model(model)
    best: ModelPrice | None = None
    for prefix, row in _table().items():
        if having is not None and not having(row):
            continue
        matches = base == prefix or base.startswith(prefix + "-")
        if matches and (best is None or len(prefix) > len(best.prefix)):
            best = row
    return best


def default_epochs(n_examples: int) -> int:
    """What OpenAI picks for `n_epochs: "auto"`, per its data-prep notebook."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(1, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def estimate_cost(model: str | None, billed_tokens_per_epoch: int, epochs: int) -> float | None:
    """US dollars to train `epochs` epochs, or None when the model is not billed per token."""
    row = price_for(model)
    if row is None or row.training_per_1m is None:
        return None
    return round(row.training_per_1m * billed_tokens_per_epoch * epochs / 1_000_000, 4)
