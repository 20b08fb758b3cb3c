"""The validation report: what `ftui data validate --json` prints, and what screens show.

Plain dataclasses, not pydantic models: this is output we build ourselves, never input to check,
and building pydantic models cost `ftui data validate` a tenth of a second on every run (about 10%
of a 30 MB file's whole process). `model_dump()` gives the JSON object.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftui.data.prices import default_epochs, estimate_cost
from ftui.data.scan import MAX_ISSUES, ScanResult
from ftui.data.tokens import Tokenizer

MIN_EXAMPLES = 10  # OpenAI fails the job with `invalid_n_examples` below this

# Formats each method trains on; anything else in the file is reported line by line.
_FORMAT_OF_METHOD = {"supervised": "chat", "dpo": "preference", "reinforcement": "reinforcement"}


@dataclass
class Issue:
    """One problem. `line` is 1-based; 0 means the file as a whole."""

    line: int
    code: str
    message: str


@dataclass
class TokenStats:
    total: int = 0
    max_example: int = 0
    p50: int = 0
    p95: int = 0
    over_limit: int = 0


@dataclass
class ValidationReport:
    file: str
    format: str
    method: str
    examples: int
    valid: bool
    errors: list[Issue]
    warnings: list[Issue]
    tokens: TokenStats
    billed_tokens_per_epoch: int
    estimated_cost: float | None  # US dollars for `epochs` epochs; None when not billed per token

    # Context for people and screens; not part of the JSON object.
    tokenizer: str = field(default="", kw_only=True)
    exact: bool = field(default=True, kw_only=True)
    epochs: int = field(default=0, kw_only=True)
    model: str | None = field(default=None, kw_only=True)
    error_count: int = field(default=0, kw_only=True)
    warning_count: int = field(default=0, kw_only=True)
    turns: dict[int, int] = field(default_factory=dict, kw_only=True)  # messages per example -> examples
    lengths: dict[int, int] = field(default_factory=dict, kw_only=True)  # tokens per example -> examples

    def model_dump(self) -> dict[str, Any]:
        """The JSON object (the fields above the context ones)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if not f.kw_only}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def percentile(hist: dict[int, int], q: float) -> int:
    """Nearest-rank percentile of a histogram {value: count}."""
    total = sum(hist.values())
    if not total:
        return 0
    rank = max(1, -(-int(q * total * 1000) // 1000))  # ceil(q * total) without float surprises
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value
    return max(hist)


def build_report(
    path: Path,
    r: ScanResult,
    *,
    fmt: str,
    method: str,
    model: str | None,
    tokenizer: Tokenizer,
    epochs: int | None,
    price_per_1m: float | None = None,
) -> ValidationReport:
    errors = [Issue(line=line, code=code, message=msg) for line, code, msg in r.errors]
    warnings = [Issue(line=line, code=code, message=msg) for line, code, msg in r.warnings]
    error_count, warning_count = r.error_count, r.warning_count
    if r.size == 0 or (r.examples == 0 and not r.error_count):
        errors.insert(
            0,
            Issue(
                line=0,
                code="empty_file",
                message="the file is empty" if r.size == 0 else "the file has no examples",
            ),
        )
        error_count += 1
    elif 0 < r.examples < MIN_EXAMPLES:  # (none at all: the file could not be read as JSONL)
        errors.insert(
            0,
            Issue(
                line=0,
                code="too_few_examples",
                message=f"{r.examples} example(s); training needs at least {MIN_EXAMPLES}",
            ),
        )
        error_count += 1
    if fmt in _FORMAT_OF_METHOD.values() and fmt != _FORMAT_OF_METHOD[method]:
        warnings.insert(
            0,
            Issue(
                line=0,
                code="format_method_mismatch",
                message=f"the file looks like {fmt} data but is validated for {method}",
            ),
        )
        warning_count += 1
    if not r.duplicates_checked:
        warnings.append(
            Issue(
                line=0,
                code="duplicates_not_checked",
                message="too many examples to check them all for duplicates",
            )
        )
        warning_count += 1
    for issues, total, kind in ((errors, error_count, "errors"), (warnings, warning_count, "warnings")):
        hidden = total - len(issues)
        if hidden > 0 and len(issues) >= MAX_ISSUES:
            issues.append(Issue(line=0, code="too_many_issues", message=f"{hidden:,} more {kind} not listed"))
    n_epochs = epochs or default_epochs(r.valid)
    cost = None if method == "reinforcement" else estimate_cost(model, r.billed, n_epochs)
    if price_per_1m is not None:
        cost = round(price_per_1m * r.billed * n_epochs / 1_000_000, 4)
    return ValidationReport(
        file=str(path),
        format=fmt,
        method=method,
        examples=r.examples,
        valid=error_count == 0,
        errors=errors,
        warnings=warnings,
        tokens=TokenStats(
            total=sum(n * c for n, c in r.token_hist.items()),
            max_example=r.max_tokens,
            p50=percentile(r.token_hist, 0.50),
            p95=percentile(r.token_hist, 0.95),
            over_limit=r.over_limit,
        ),
        billed_tokens_per_epoch=r.billed,
        estimated_cost=cost,
        tokenizer=tokenizer.name,
        exact=bool(tokenizer.exact),
        epochs=n_epochs,
        model=model,
        error_count=error_count,
        warning_count=warning_count,
        turns=dict(sorted(Counter(r.turns_hist).items())),
        lengths=dict(sorted(r.token_hist.items())),
    )
