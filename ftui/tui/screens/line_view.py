"""One line of a dataset file with its neighbours: where Enter on a validation error lands."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

CONTEXT = 2


def read_lines(path: Path, line: int, context: int = CONTEXT) -> list[tuple[int, str]]:
    """Lines `line-context`..`line+context` (1-based), read without loading the whole file."""
    first = max(1, line - context)
    with path.open(encoding="utf-8", errors="replace") as fh:
        chunk = islice(fh, first - 1, line + context)
        return [(first + i, text.rstrip("\n")) for i, text in enumerate(chunk)]


class LineViewScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss(None)", "Close")]

    def __init__(self, path: Path, line: int, message: str = "") -> None:
        super().__init__()
        self.path, self.line, self.message = path, line, message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Static(f"{self.path.name}:{self.line}  {self.message}", classes="dialog-title")
            with VerticalScroll():
                yield Static(self._body())

    def _body(self) -> Text:
        try:
            lines = read_lines(self.path, self.line)
        except OSError as exc:
            return Text(f"cannot read {self.path}: {exc}", style="red")
        out = Text()
        target = ""
        for number, text in lines:
            mark = ">" if number == self.line else " "
            style = "bold reverse" if number == self.line else "dim"
            out.append(f"{mark}{number:>6} ", style="bold")
            out.append((text[:300] + ("…" if len(text) > 300 else "")) + "\n", style=style)
            if number == self.line:
                target = text
        try:
            pretty = json.dumps(json.loads(target), indent=2, ensure_ascii=False)
        except (ValueError, TypeError):
            return out
        out.append("\nline " + str(self.line) + " as JSON:\n", style="bold")
        out.append(pretty)
        return out
