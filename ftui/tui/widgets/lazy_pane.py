"""A stand-in for a pane that is built, and its module imported, only after the first frame.

Textual's `Lazy` defers mounting a widget that already exists; this defers making it, so the
modules of panes not on show (and the widgets only they use) stay off the start-up path.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message
from textual.widget import Widget


class LazyPane(Widget):
    DEFAULT_CSS = "LazyPane { display: none; }"

    class Built(Message):
        """The real pane is mounted in the stand-in's place (its tab may be on show already)."""

        def __init__(self, widget: Widget) -> None:
            super().__init__()
            self.widget = widget

    def __init__(self, make: Callable[[], Widget]) -> None:
        super().__init__()
        self._make = make

    def on_mount(self) -> None:
        self.call_after_refresh(self._replace)

    async def _replace(self) -> None:
        parent = self.parent
        if not isinstance(parent, Widget):
            return
        widget = self._make()
        await parent.mount(widget, after=self)
        await self.remove()
        parent.post_message(self.Built(widget))
