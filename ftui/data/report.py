"""The validation report: what `ftui data validate --json` prints, and what screens show.

Kept apart from the scan so that pydantic is imported while the scan's workers run, not before.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, PrivateAttr

from ftui.data.prices import default_epochs, estimate_cost
from ftui.data.scan import MAX_ISSUES, ScanResult
from ftui.data.tokens import Tokenizer

MIN_EXAMPLES = 10  # OpenAI fails the job with `invalid_n_examples` below this

# Formats each method trains on; anything else in the file is reported line by line.
_FORMAT_OF_METHOD = {"supervised": "chat", "dpo": "preference", "reinforcement": "reinforcement"}


class Issue(BaseModel):
    """One problem. `line` is 1-based; 0 means the file as a whole."""

    line: int
    code: str
    message: str


class TokenStats(BaseModel):
    total: int = 0
    max_example: int = 0
    p50: int = 0
    p95: int = 0
    over_limit: int = 0


class ValidationReport(BaseModel):
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
    _tokenizer: str = PrivateAttr(default="")
    _exact: bool = PrivateAttr(default=True)
    _epochs: int = PrivateAttr(default=0)
    _model: str | None = PrivateAttr(default=None)
    _error_count: int = PrivateAttr(default=0)
    _warning_count: int = PrivateAttr(default=0)
    _turns: dict[int, int] = PrivateAttr(default_factory=dict)
    _lengths: dict[int, int] = PrivateAttr(default_factory=dict)

    @property
    def tokenizer(self) -> str:
        return self._tokenizer

    @property
    def exact(self) -> bool:
        return self._exact

    @property
    def epochs(self) -> int:
        return self._epochs

    @property
    def model(self) -> str | None:
        return self._model

    @property
    def error_count(self) -> int:
        return self._error_count

    @property
    def warning_count(self) -> int:
        return self._warning_count

    @property
    def turns(self) -> dict[int, int]:
        """Messages per valid example -> how many examples."""
        return self._turns

    @property
    def lengths(self) -> dict[int, int]:
        """Tokens per valid example -> how many examples."""
        return self._lengths


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
    if r.size == 0 or r.examples == 0:
        errors.insert(
            0,
            Issue(
                line=0,
                code="empty_file",
                message="the file is empty" if r.size == 0 else "the file has no examples",
            ),
        )
        error_count += 1
    elif r.examples < MIN_EXAMPLES:
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
    report = ValidationReport(
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
    )
    report._tokenizer = tokenizer.name
    report._exact = bool(tokenizer.exact)
    report._epochs = n_epochs
    report._model = model
    report._error_count = error_count
    report._warning_count = warning_count
    report._turns = dict(sorted(Counter(r.turns_hist).items()))
    report._lengths = dict(sorted(r.token_hist.items()))
    return report
