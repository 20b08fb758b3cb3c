"""The Textual app (an empty shell until the TUI issue lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ftui.session import Session


def run_app(session: Session) -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class FtuiApp(App[None]):
        TITLE = "ftui"

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("ftui")
            yield Footer()

    FtuiApp().run()
