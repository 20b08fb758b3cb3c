"""The `:` command line (k9s style) and the command palette's ftui commands."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from ftui.tui.app import FtuiApp

VIEWS = ("datasets", "jobs", "metrics", "playground")
VIEW_ALIASES = {
    "d": "datasets", "ds": "datasets", "data": "datasets", "dataset": "datasets", "datasets": "datasets",
    "j": "jobs", "job": "jobs", "jobs": "jobs",
    "m": "metrics", "metric": "metrics", "metrics": "metrics",
    "p": "playground", "pg": "playground", "chat": "playground", "playground": "playground",
}
HELP = (
    ":jobs [/filter]  :datasets  :metrics [JOB]  :playground  :profile NAME  :theme NAME  "
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


class FtuiCommands(Provider):
    """Profiles, views and actions in the command palette (ctrl+p)."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app: FtuiApp = self.app  # type: ignore[assignment]
        commands: list[tuple[str, str, object]] = []
        for name in app.profile_names():
            commands.append((f"Profile: {name}", "Switch every pane to this profile",
                             partial(app.switch_profile, name)))
        for view in VIEWS:
            commands.append((f"View: {view.title()}", f"Show the {view} pane", partial(app.show_view, view)))
        commands.append(("New fine-tuning job", "Open the job form", app.action_new_job))
        commands.append(("Toggle terminal bell", "Ring the bell when a job finishes", app.action_toggle_bell))
        commands.append(("Show key bindings", "Every key, by pane", app.action_help))
        commands.append(("Toggle log pane", "Provider errors and app messages", app.action_toggle_log))
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)  # type: ignore[arg-type]
