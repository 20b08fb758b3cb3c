"""One side of the playground: the conversation with one model, streamed in place."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

ROLE_STYLE = {"user": "bold", "assistant": "", "system": "italic dim", "error": "bold red"}


class ChatMessageView(Static):
    def __init__(self, role: str, content: str = "") -> None:
        super().__init__(classes=f"msg msg-{role}")
        self.role = role
        self.body = content
        self._render_text()

    def _render_text(self) -> None:
        label = {"user": "you", "assistant": "model"}.get(self.role, self.role)
        text = Text(f"{label}: ", style="bold " + ("cyan" if self.role == "user" else "green"))
        placeholder = "…" if self.role == "assistant" else ""
        text.append(self.body or placeholder, style=ROLE_STYLE.get(self.role, ""))
        self.update(text)

    def append(self, piece: str) -> None:
        self.body += piece
        self._render_text()


class ChatView(VerticalScroll):
    """Messages top to bottom; follows the newest while the user has not scrolled up."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="chat-view")
        self.can_focus = False
        self.border_title = "-"

    def set_model(self, model: str | None) -> None:
        self.border_title = model or "-"

    def add(self, role: str, content: str = "") -> ChatMessageView:
        view = ChatMessageView(role, content)
        self.mount(view)
        self.scroll_end(animate=False)
        return view

    def follow(self) -> None:
        if self.max_scroll_y - self.scroll_y <= 3:
            self.scroll_end(animate=False)

    def clear(self) -> None:
        self.remove_children()
