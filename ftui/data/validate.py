"""`validate_path`: can this file be trained on, and what will it cost? Every problem, with its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ftui.data.formats import METHODS, method_for
from ftui.data.prices import price_for
from ftui.data.scan import scan, sniff
from ftui.data.tokens import Tokenizer, tokenizer_for
from ftui.errors import FtuiError, UsageError

if TYPE_CHECKING:
    from ftui.data.report import ValidationReport


def check_path(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, not a JSONL file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise FtuiError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    return path


def validate_path(
    path: Path,
    *,
    method: str | None = None,
    model: str | None = None,
    tokenizer: Tokenizer | None = None,
    progress: Callable[[int, int], None] | None = None,
    epochs: int | None = None,
    workers: int | None = None,
    price_per_1m: float | None = None,
) -> ValidationReport:
    """Check a JSONL training file in one streaming pass. Raises only for a missing/unreadable path.

    `epochs` sets the cost estimate's epochs (default: what OpenAI's "auto" picks); `price_per_1m`
    overrides the price table (a local provider passes 0).
    """
    path = check_path(Path(path))
    if method is not None and method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    fmt = sniff(path)
    chosen = method or method_for(fmt)
    tok = tokenizer if tokenizer is not None else tokenizer_for(model)
    price = price_for(model)
    legacy_ok = bool(price and price.legacy_completions)
    result = scan(
        path,
        method=chosen,
        tokenizer=tok,
        legacy_ok=legacy_ok,
        progress=progress,
        workers=workers,
        meanwhile=_import_report,
    )
    from ftui.data.report import build_report

    return build_report(
        path,
        result,
        fmt=fmt,
        method=chosen,
        model=model,
        tokenizer=tok,
        epochs=epochs,
        price_per_1m=price_per_1m,
    )


def _import_report() -> None:
    import ftui.data.report  # noqa: F401  (pydantic: imported while the scan's workers run)
