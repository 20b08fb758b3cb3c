"""The command palette's ftui commands (ctrl+p): profiles, views and actions, as the app lists them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ftui.tui.commands import PaletteCommand


@runtime_checkable
class HasPaletteCommands(Protocol):
    def palette_commands(self) -> list[PaletteCommand]: ...


class FtuiCommands(Provider):
    """Profiles, views and actions in the command palette (ctrl+p)."""

    def _commands(self) -> list[PaletteCommand]:
        app = self.app
        return app.palette_commands() if isinstance(app, HasPaletteCommands) else []

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
