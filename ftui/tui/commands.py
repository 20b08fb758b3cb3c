"""The `:` command line, k9s style: `:jobs`, `:profile NAME`, `:theme NAME`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VIEWS = ("datasets", "jobs", "metrics", "playground", "deployments", "evaluate")
VIEW_ALIASES = {
    "d": "datasets",
    "ds": "datasets",
    "data": "datasets",
    "dataset": "datasets",
    "datasets": "datasets",
    "j": "jobs",
    "job": "jobs",
    "jobs": "jobs",
    "m": "metrics",
    "metric": "metrics",
    "metrics": "metrics",
    "p": "playground",
    "pg": "playground",
    "chat": "playground",
    "playground": "playground",
    "dep": "deployments",
    "deps": "deployments",
    "deploy": "deployments",
    "deployment": "deployments",
    "deployments": "deployments",
    "e": "evaluate",
    "eval": "evaluate",
    "evaluate": "evaluate",
}
HELP = (
    ":jobs [/filter]  :datasets  :metrics [JOB]  :playground  :deployments  :eval  :profile NAME  "
    ":theme NAME  "
    ":bell on|off  :help  :q"
)


@dataclass(frozen=True)
class Command:
    """A parsed `:` command: `action` plus its one optional argument."""

    action: str  # view | profile | theme | bell | help | quit
    arg: str | None = None
    extra: str | None = None


class CommandError(ValueError):
    pass


@dataclass(frozen=True)
class PaletteCommand:
    """One entry the app offers in the command palette (ctrl+p)."""

    title: str
    help: str
    run: Callable[[], Any]


def parse_command(text: str) -> Command:
    words = text.strip().lstrip(":").split()
    if not words:
        raise CommandError("empty command; " + HELP)
    head, rest = words[0].lower(), words[1:]
    if head in VIEW_ALIASES:
        view = VIEW_ALIASES[head]
        arg = " ".join(rest) or None
        if view == "jobs" and arg:
            return Command("view", view, arg.lstrip("/"))
        return Command("view", view, arg)
    if head in {"profile", "ctx", "context"}:
        if len(rest) != 1:
            raise CommandError("usage: :profile NAME")
        return Command("profile", rest[0])
    if head == "theme":
        if len(rest) != 1:
            raise CommandError("usage: :theme NAME")
        return Command("theme", rest[0])
    if head == "bell":
        if rest and rest[0].lower() not in {"on", "off"}:
            raise CommandError("usage: :bell on|off")
        return Command("bell", rest[0].lower() if rest else None)
    if head in {"help", "h", "?"}:
        return Command("help")
    if head in {"q", "quit", "q!", "exit"}:
        return Command("quit")
    raise CommandError(f"unknown command {head!r}; " + HELP)
