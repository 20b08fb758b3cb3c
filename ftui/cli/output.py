"""How headless commands print: `--json` for scripts, plain lines for people."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click


def _default(obj: Any) -> Any:
    # pydantic models (their module is already loaded when one reaches here): not imported for
    # commands that print none, e.g. `ftui data validate`.
    if "pydantic" in sys.modules and isinstance(obj, sys.modules["pydantic"].BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, datetime):
        return obj.isoformat()
    return str(obj)


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, default=_default, indent=2))


def warn(message: str) -> None:
    click.echo(click.style("warning: ", fg="yellow") + message, err=True)


def table(rows: list[list[str]], headers: list[str]) -> None:
    """A plain aligned table; no colour when piped."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=False))
    click.echo(line.rstrip())
    for row in rows:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())


def is_tty() -> bool:
    return sys.stdout.isatty()
