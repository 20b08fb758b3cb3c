"""`ftui data stats`: size and shape of a dataset (examples, tokens, turns, length histogram)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from ftui.data.report import TokenStats, ValidationReport, percentile
from ftui.data.tokens import Tokenizer
from ftui.data.validate import validate_path


class Bin(BaseModel):
    low: int  # inclusive
    high: int  # inclusive
    count: int


class TurnStats(BaseModel):
    min: int = 0
    max: int = 0
    mean: float = 0.0
    p50: int = 0


class DatasetStats(BaseModel):
    file: str
    format: str
    method: str
    examples: int
    valid_examples: int
    tokenizer: str
    exact: bool
    tokens: TokenStats
    mean_tokens: float
    turns: TurnStats
    length_histogram: list[Bin]
    errors: int
    warnings: int


def histogram(counts: dict[int, int], bins: int = 10) -> list[Bin]:
    """Equal-width bins over [min, max] of a {value: count} histogram."""
    if not counts:
        return []
    low, high = min(counts), max(counts)
    width = max(1, -(-(high - low + 1) // bins))
    out = [
        Bin(low=low + i * width, high=low + (i + 1) * width - 1, count=0)
        for i in range(-(-(high - low + 1) // width))
    ]
    for value, n in counts.items():
        out[(value - low) // width].count += n
    return out


def from_report(report: ValidationReport, bins: int = 10) -> DatasetStats:
    turns = report.turns
    n_turns = sum(turns.values())
    lengths = report.lengths
    n_valid = sum(lengths.values())
    return DatasetStats(
        file=report.file,
        format=report.format,
        method=report.method,
        examples=report.examples,
        valid_examples=n_valid,
        tokenizer=report.tokenizer,
        exact=report.exact,
        tokens=report.tokens,
        mean_tokens=round(report.tokens.total / n_valid, 1) if n_valid else 0.0,
        turns=TurnStats(
            min=min(turns) if turns else 0,
            max=max(turns) if turns else 0,
            mean=round(sum(k * v for k, v in turns.items()) / n_turns, 2) if n_turns else 0.0,
            p50=percentile(turns, 0.5),
        ),
        length_histogram=histogram(lengths, bins),
        errors=report.error_count,
        warnings=report.warning_count,
    )


def stats_path(
    path: Path,
    *,
    method: str | None = None,
    model: str | None = None,
    tokenizer: Tokenizer | None = None,
    bins: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> DatasetStats:
    report = validate_path(path, method=method, model=model, tokenizer=tokenizer, progress=progress)
    return from_report(report, bins)
