"""Nothing billed without a yes: `--yes`, or the answer of a person at a terminal; with neither,
the command refuses (exit 2) rather than guess."""

from __future__ import annotations

import sys

import click

from ftui.errors import UsageError
from ftui.model import CostEstimate


def can_ask() -> bool:
    """A person at a terminal who can answer a question (stdin) and read it (stderr)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirmed(question: str, yes: bool, refusal: str) -> bool:
    """`--yes`, or the user's answer on a terminal; with neither, a UsageError (exit 2)."""
    if yes:
        return True
    if not can_ask():
        raise UsageError(f"{refusal}; there is no terminal to ask on, so pass --yes to confirm")
    return click.confirm(question, default=False, err=True)


def billed(estimate: CostEstimate) -> bool:
    """The estimate says money: a price above zero, per run or per hour."""
    return bool(estimate.total) or bool(estimate.per_hour)
