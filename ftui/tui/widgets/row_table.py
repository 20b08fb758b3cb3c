"""A keyed, single-line-row table drawn with the Line API.

DataTable renders every visible cell through Rich on each cursor move or scroll; with thousands of
jobs that is tens of milliseconds per key. Here a row is turned into one Strip once (cached until
the row, the column widths or the cursor change), so moving or paging costs only the visible lines.
Rows are diff-updated by key, so a live refresh keeps the cursor on the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text
Row = tuple[Cell, ...]
GAP = 2
MAX_COLUMN = 40


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


class RowTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"row-table--header", "row-table--cursor"}
    DEFAULT_CSS = """
    RowTable { height: 1fr; padding: 0 1; }
    RowTable > .row-table--header { text-style: bold; color: $primary; }
    RowTable > .row-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    RowTable:blur > .row-table--cursor { background: $block-cursor-blurred-background; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
        Binding("left", "scroll_left", show=False),
        Binding("right", "scroll_right", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, repaint=False)

    class Selected(Message):
        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table, self.key = table, key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, columns: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = tuple(columns)
        self._rows: dict[str, Row] = {}
        self._order: list[str] = []
        self._widths = [len(c) for c in self.columns]
        self._cache: dict[tuple[str, bool], Strip] = {}

    # -- data -----------------------------------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        return list(self._order)

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def current_key(self) -> str | None:
        if 0 <= self.cursor_row < len(self._order):
            return self._order[self.cursor_row]
        return None

    def get_row(self, key: str) -> Row:
        return self._rows[key]

    def sync(self, rows: Sequence[tuple[str, Row]]) -> None:
        """Show exactly `rows` in that order; the cursor stays on its row if that row remains."""
        keep = self.current_key
        new_rows = dict(rows)
        changed = {k for k, cells in new_rows.items() if self._rows.get(k) != cells}
        widths = [len(c) for c in self.columns]
        for cells in new_rows.values():
            for i, cell in enumerate(cells):
                n = len(_plain(cell))
                if n > widths[i]:
                    widths[i] = n
        widths = [min(w, MAX_COLUMN) for w in widths]
        if widths != self._widths:
            self._widths = widths
            self._cache.clear()
        else:
            for key in changed:
                self._cache.pop((key, False), None)
                self._cache.pop((key, True), None)
        self._rows = new_rows
        self._order = list(dict.fromkeys(k for k, _ in rows))
        self.virtual_size = Size(sum(self._widths) + GAP * len(self._widths), len(self._order) + 1)
        if keep in self._rows:
            self.set_reactive(RowTable.cursor_row, self._order.index(keep))
        self.cursor_row = max(0, min(self.cursor_row, len(self._order) - 1))
        self.refresh()

    def move_cursor(self, row: int) -> None:
        self.cursor_row = row

    # -- cursor ---------------------------------------------------------------------------------
    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._order) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + self._visible_rows():
            self.scroll_to(y=self.cursor_row - self._visible_rows() + 1, animate=False, immediate=True)

    def _refresh_row(self, row: int) -> None:
        y = row - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh_line(y)

    def action_cursor(self, delta: int) -> None:
        self.cursor_row += delta

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * self._visible_rows()

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self._order) - 1

    def action_select(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: Any) -> None:
        row = int(self.scroll_y) + event.y - 1
        if 0 <= row < len(self._order):
            if row == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.cursor_row = row

    # -- drawing --------------------------------------------------------------------------------
    def _cells_strip(self, cells: Sequence[Cell], style: Style) -> Strip:
        segments: list[Segment] = []
        for cell, width in zip(cells, self._widths, strict=False):
            text = cell if isinstance(cell, Text) else Text(cell)
            text = text.copy()
            text.truncate(width, overflow="ellipsis", pad=True)
            text.append(" " * GAP)
            segments.extend(
                Segment(s.text, style + s.style if s.style else style) for s in text.render(self.app.console)
            )
        return Strip(segments).simplify()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = int(self.scroll_x)
        base = self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("row-table--header")
            strip = self._cells_strip(self.columns, header)
            return strip.crop_extend(scroll_x, scroll_x + width, header)
        row = int(self.scroll_y) + y - 1
        if row >= len(self._order):
            return Strip.blank(width, base)
        key = self._order[row]
        is_cursor = row == self.cursor_row
        cached = self._cache.get((key, is_cursor))
        style = base + self.get_component_rich_style("row-table--cursor") if is_cursor else base
        if cached is None:
            if len(self._cache) > 4000:
                self._cache.clear()
            cached = self._cells_strip(self._rows[key], style)
            self._cache[(key, is_cursor)] = cached
        return cached.crop_extend(scroll_x, scroll_x + width, style)

    def notify_style_update(self) -> None:
        self._cache.clear()
        super().notify_style_update()
