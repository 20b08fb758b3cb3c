"""`?`: every key binding, by pane, generated from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _key_label(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "colon": ":", "escape": "esc"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


def bindings_table(sections: list[tuple[str, list[BindingType], dict[str, str]]]) -> Table:
    table = Table(box=None, padding=(0, 2), show_header=False, expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, bindings, extra in sections:
        table.add_row(Text(title, style="bold underline"), "")
        for b in bindings:
            if isinstance(b, Binding):
                key, description, action = b.key, b.description, b.action
            else:
                key, action, description = ([*list(b), "", ""])[:3]
            table.add_row(Text(_key_label(key)), Text(description or action.replace("_", " ")))
        for key, description in extra.items():
            table.add_row(Text(key), Text(description))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss(None)", "Close")]

    def __init__(self, sections: list[tuple[str, list[BindingType], dict[str, str]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Static("Keys  (esc closes)", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(bindings_table(self.sections))
