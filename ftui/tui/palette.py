"""The command palette's ftui commands (ctrl+p): profiles, views and actions."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ftui.tui.commands import VIEWS

if TYPE_CHECKING:
    from ftui.tui.app import FtuiApp


class FtuiCommands(Provider):
    """Profiles, views and actions in the command palette (ctrl+p)."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app: FtuiApp = self.app  # type: ignore[assignment]
        commands: list[tuple[str, str, object]] = []
        for name in app.profile_names():
            commands.append(
                (f"Profile: {name}", "Switch every pane to this profile", partial(app.switch_profile, name))
            )
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
