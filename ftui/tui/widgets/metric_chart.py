"""A line chart over step for a few metric series, downsampled and redrawn at a bounded rate."""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual.timer import Timer
from textual_plotext import PlotextPlot

from ftui.tui.downsample import bucket_mean, ema

MAX_POINTS = 1000  # per series, kept between redraws: more than any terminal chart can show
DOTS_PER_CELL = 2  # braille resolves two points per cell across; more points only cost time
REDRAW_EVERY = 0.25  # seconds: data may arrive faster than anyone can read it


class MetricChart(PlotextPlot):
    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.smoothing = False
        self._reduced: dict[str, tuple[list[float], list[float]]] = {}
        self._pending: Timer | None = None
        self._version = 0
        self._lines_key: tuple[int, int, str, int] | None = None
        self._lines: list[Strip] = []

    def clear_series(self) -> None:
        self.series.clear()
        self._reduced.clear()
        self.redraw(now=True)

    def extend(self, name: str, steps: list[float], values: list[float]) -> None:
        xs, ys = self.series.setdefault(name, ([], []))
        xs.extend(steps)
        ys.extend(values)
        self._reduced.pop(name, None)
        self.redraw()

    def set_smoothing(self, on: bool) -> None:
        self.smoothing = on
        self.redraw(now=True)

    def redraw(self, now: bool = False) -> None:
        if now:
            if self._pending is not None:
                self._pending.stop()
                self._pending = None
            self._replot()
        elif self._pending is None:
            self._pending = self.set_timer(REDRAW_EVERY, self._flush)

    @property
    def settled(self) -> bool:
        """No throttled redraw is waiting: what is on screen reflects every point received."""
        return self._pending is None

    def _flush(self) -> None:
        self._pending = None
        self._replot()

    def reduced(self, name: str) -> tuple[list[float], list[float]]:
        if name not in self._reduced:
            xs, ys = self.series[name]
            self._reduced[name] = bucket_mean(xs, ys, MAX_POINTS)
        return self._reduced[name]

    def _replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title + (" (smoothed)" if self.smoothing else ""))
        plt.xlabel("step")
        drawn = False
        width = max(self.size.width, 20)
        for name in self.series:
            xs, ys = bucket_mean(*self.reduced(name), width * DOTS_PER_CELL)
            if not xs:
                continue
            plt.plot(xs, ema(ys) if self.smoothing else ys, label=name, marker="braille")
            drawn = True
        if not drawn:
            plt.title(self.title + ": no data yet")
        self._version += 1
        self.refresh()

    def render_line(self, y: int) -> Strip:
        # plotext rebuilds the whole figure on every render, and its one-style-per-dot output is
        # slow through Textual's Visual pipeline; build the lines once per data/size/theme change
        # and serve them straight from a cache.
        width, height = self.size
        key = (width, height, self.app.theme, self._version)
        if self._lines_key != key:
            text = super().render()
            assert isinstance(text, Text)  # PlotextPlot renders the plot as ANSI text
            console = self.app.console
            options = console.options.update(width=width, height=height, no_wrap=True, overflow="crop")
            self._lines = [Strip(line, width) for line in console.render_lines(text, options, pad=True)]
            self._lines_key = key
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, self.rich_style)

    def on_resize(self) -> None:
        self.redraw()
