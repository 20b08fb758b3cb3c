"""`validate_path`: can this file be trained on, and what will it cost? Every problem, with its line."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ftui.data import jsonl
from ftui.data.formats import METHODS, method_for
from ftui.data.prices import price_for
from ftui.data.scan import ScanResult, scan, sniff
from ftui.data.tokens import Tokenizer, tokenizer_for
from ftui.errors import FtuiError, UsageError

if TYPE_CHECKING:
    from ftui.data.report import ValidationReport

check_path = jsonl.check_file  # what every `ftui data` command checks its input with


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
    """Check a JSONL training file in one streaming pass.

    Raises FtuiError only for a path that cannot be read as a whole: missing, not a regular file,
    unreadable, or deleted or changed while it was read. `epochs` sets the cost estimate's epochs
    (default: what OpenAI's "auto" picks); `price_per_1m` overrides the price table (a local
    provider passes 0).
    """
    path = check_path(Path(path))
    if method is not None and method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    tok = tokenizer if tokenizer is not None else tokenizer_for(model)
    price = price_for(model)
    legacy_ok = bool(price and price.legacy_completions)
    try:
        before = os.stat(path)
        with open(path, "rb") as fh:
            wrong = jsonl.not_jsonl(fh.read(jsonl.HEAD_BYTES))
        if wrong:  # one error for the file, not `invalid_utf8` on every line
            fmt, chosen = "unknown", method or "supervised"
            result = ScanResult(size=before.st_size, error_count=1, errors=[(0, *wrong)])
        else:
            fmt = sniff(path)
            chosen = method or method_for(fmt)
            result = scan(
                path,
                method=chosen,
                tokenizer=tok,
                legacy_ok=legacy_ok,
                progress=progress,
                workers=workers,
                meanwhile=_import_report,
            )
        jsonl.check_unchanged(path, before)
    except FileNotFoundError:
        raise FtuiError(f"{path}: deleted or moved while it was being read") from None
    except OSError as exc:
        raise FtuiError(f"{path}: cannot read it ({exc.strerror or exc})") from None
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
