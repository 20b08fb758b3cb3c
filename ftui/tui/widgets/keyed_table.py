"""A DataTable that is updated by diffing rows by key, so live refresh keeps the cursor and scroll."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

Row = tuple[Any, ...]


class KeyedTable(DataTable[Any]):
    """Rows keyed by their first column's text, which must be unique (a job id, a path)."""

    def __init__(self, columns: Sequence[str], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._column_names = tuple(columns)
        self._rows: dict[str, Row] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for name in self._column_names:
            self.add_column(name, key=name)

    @property
    def keys(self) -> list[str]:
        return list(self._order)

    @property
    def current_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def sync(self, rows: Sequence[tuple[str, Row]]) -> None:
        """Show exactly `rows`, in that order, touching only what changed."""
        wanted = dict(rows)
        order = [key for key, _ in rows]
        keep = self.current_key
        if len(wanted) != len(order):  # duplicate keys: keep the first
            order = list(dict.fromkeys(order))
        stale = [k for k in self._order if k not in wanted]
        # Removing rows one by one is O(rows) each; past a handful a rebuild is cheaper.
        if len(stale) > 20 or (self._order and not set(self._order) & set(wanted)):
            self._rebuild(order, wanted, keep)
            return
        for key in stale:
            self.remove_row(key)
            del self._rows[key]
        for key in order:
            cells = wanted[key]
            old = self._rows.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            elif old != cells:
                for name, before, after in zip(self._column_names, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, name, after)
            self._rows[key] = cells
        current = [k for k in self._order if k in wanted] + [k for k in order if k not in self._order]
        if current != order:
            position = {k: i for i, k in enumerate(order)}
            self._sort_by(position)
        self._order = order
        self._restore(keep)

    def _sort_by(self, position: dict[str, int]) -> None:
        # DataTable sorts by cell values; sorting by the key column through a lookup keeps our order.
        first = self._column_names[0]
        self.sort(first, key=lambda value: position.get(str(value), len(position)))

    def _rebuild(self, order: list[str], wanted: dict[str, Row], keep: str | None) -> None:
        self.clear()
        for key in order:
            self.add_row(*wanted[key], key=key)
        self._rows = {k: wanted[k] for k in order}
        self._order = order
        self._restore(keep)

    def _restore(self, key: str | None) -> None:
        if key is None or key not in self._rows:
            return
        index = self.get_row_index(RowKey(key))
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=False)
