"""The `:` prompt: a one-line input docked at the bottom, hidden until asked for."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class CommandLine(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__(placeholder=":jobs  :profile NAME  :theme NAME  :help", id="command-line")

    def open(self) -> None:
        self.value = ""
        self.display = True
        self.focus()

    def action_close(self) -> None:
        self.value = ""
        self.display = False
        self.screen.focus_next()

    async def action_submit(self) -> None:
        text = self.value
        self.action_close()
        if text.strip():
            self.post_message(self.Submitted(text))
