"""Metrics: live loss and token-accuracy charts for one job, its events log and its checkpoints."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Log, Static

from ftui.errors import NotSupported
from ftui.tui.display import status_text
from ftui.tui.messages import OpenPlayground
from ftui.tui.screens.base import Pane
from ftui.tui.screens.pick import PickScreen

if TYPE_CHECKING:
    from ftui.model import Checkpoint, Job, JobEvent, MetricPoint
    from ftui.tui.widgets.metric_chart import MetricChart

POLL_EVERY = 1.0
LOG_LINES = 2000
CSV_FIELDS = (
    "step",
    "epoch",
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
    "learning_rate",
)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def event_line(event: JobEvent) -> str:
    stamp = event.created_at.astimezone().strftime("%H:%M:%S")
    level = "" if event.level == "info" else f"[{event.level}] "
    return f"{stamp} {level}{event.message}"


FIELD = {name: i for i, name in enumerate(CSV_FIELDS)}
MetricRow = tuple[float | None, ...]


def metric_row(point: MetricPoint) -> MetricRow:
    # A plain tuple of numbers: the garbage collector stops tracking it, so a run with 100,000
    # steps adds nothing to the pauses every later allocation-heavy keypress could hit.
    return tuple(getattr(point, name) for name in CSV_FIELDS)


def write_metrics_csv(path: Path, rows: list[MetricRow]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_FIELDS)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def default_job(jobs: list[Job]) -> Job | None:
    """What Metrics opens on: the job that is running when exactly one is, else the newest."""
    running = [j for j in jobs if j.status == "running"]
    if len(running) == 1:
        return running[0]
    return max(jobs, key=lambda j: (j.created_at, j.id), default=None)


class MetricsPane(Pane):
    FOCUS_TARGET = "#checkpoints"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "toggle_smoothing", "Smooth", id="metrics-smooth"),
        Binding("e", "export_csv", "Export CSV", id="metrics-export"),
        Binding("j", "pick_job", "Job…", id="metrics-job"),
        Binding("g", "refresh", "Refresh", id="metrics-refresh"),
    ]
    KEY_HELP: ClassVar[dict[str, str]] = {"enter": "On a checkpoint: chat with it in the Playground"}

    def __init__(self) -> None:
        super().__init__(id="metrics-pane")
        self.job_id: str | None = None
        self.job: Job | None = None
        self.points: list[MetricRow] = []  # one per step, columns as CSV_FIELDS
        self.total_steps: int | None = None
        self.checkpoints: list[Checkpoint] = []
        self.last_event: str | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            "no job selected: press j, or m on a job in Jobs", id="metrics-title", classes="status-line"
        )
        # plotext is only needed once this pane is built, which is after the first frame.
        from ftui.tui.widgets.metric_chart import MetricChart

        with Horizontal(id="charts"):
            yield MetricChart("loss", id="loss-chart")
            yield MetricChart("token accuracy", id="acc-chart")
        with Horizontal(id="metrics-bottom"):
            with Vertical(id="events-box"):
                yield Log(max_lines=LOG_LINES, id="events-log", auto_scroll=True)
            with Vertical(id="checkpoints-box"):
                table: DataTable[str] = DataTable(cursor_type="row", id="checkpoints")
                yield table

    def on_mount(self) -> None:
        if self.ftui.active_view == "metrics":  # shown before this pane was built
            self.call_after_refresh(self._watch_default_job)
        self.query_one("#events-box").border_title = "events"
        self.query_one("#checkpoints-box").border_title = "checkpoints"
        table = self.query_one("#checkpoints", DataTable)
        table.add_columns("step", "train loss", "valid loss", "acc", "model")

    @property
    def charts(self) -> tuple[MetricChart, MetricChart]:
        loss, acc = self.query_one("#loss-chart"), self.query_one("#acc-chart")
        return cast("MetricChart", loss), cast("MetricChart", acc)

    def profile_changed(self) -> None:
        self.watch_job(None)

    def activated(self) -> None:
        self._watch_default_job()

    def jobs_changed(self, jobs: list[Job]) -> None:
        if self.ftui.active_view == "metrics":
            self._watch_default_job()

    def _watch_default_job(self) -> None:
        """With no job chosen yet: the one running job, else the most recent job."""
        if self.job_id is None and (job := default_job(self.ftui.jobs)) is not None:
            self.watch_job(job.id)

    def watch_job(self, job_id: str | None) -> None:
        """Show `job_id` from scratch and follow it while it runs."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.workers.cancel_group(self, "metrics-poll")
        self.job_id, self.job, self.last_event = job_id, None, None
        self.points, self.checkpoints, self.total_steps = [], [], None
        for chart in self.charts:
            chart.clear_series()
        self.query_one("#events-log", Log).clear()
        self.query_one("#checkpoints", DataTable).clear()
        if job_id is None:
            self.query_one("#metrics-title", Static).update("no job selected: press j, or m on a job in Jobs")
            return
        self.query_one("#metrics-title", Static).update(f"{job_id} · loading…")
        self.poll()

    @work(group="metrics-poll", exclusive=True, exit_on_error=False, description="reading job metrics")
    async def poll(self) -> None:
        job_id = self.job_id
        if job_id is None:
            return
        try:
            job = await self.ftui.call(lambda p: p.job(job_id))
            page = await self.ftui.call(lambda p: p.events(job_id, self.last_event))
            if job_id != self.job_id:
                return
            self.job = job
            events = page.items
            self.add_events(events)
            self.last_event = page.next_cursor
            if events or job.done:
                await self.load_checkpoints(job_id)
            self.update_title()
        finally:
            if job_id == self.job_id and not (self.job and self.job.done):
                self._timer = self.set_timer(POLL_EVERY, self.poll)

    async def load_checkpoints(self, job_id: str) -> None:
        try:
            checkpoints = await self.ftui.call(lambda p: p.checkpoints(job_id))
        except NotSupported:
            return
        if job_id != self.job_id or [c.id for c in checkpoints] == [c.id for c in self.checkpoints]:
            return
        self.checkpoints = checkpoints
        table = self.query_one("#checkpoints", DataTable)
        table.clear()
        for c in checkpoints:
            m = c.metrics
            table.add_row(
                str(c.step),
                _fmt(m.train_loss if m else None),
                _fmt(m.valid_loss if m else None),
                _fmt(m.train_mean_token_accuracy if m else None),
                c.fine_tuned_model_checkpoint,
                key=c.fine_tuned_model_checkpoint,
            )

    def add_events(self, events: list[JobEvent]) -> None:
        if not events:
            return
        new_points = [e.metrics for e in events if e.metrics is not None]
        self.points.extend(metric_row(p) for p in new_points)
        if new_points and new_points[-1].total_steps:
            self.total_steps = new_points[-1].total_steps
        self.query_one("#events-log", Log).write_lines(event_line(e) for e in events)
        if not new_points:
            return
        loss, acc = self.charts
        for chart, name, attr in (
            (loss, "train", "train_loss"),
            (loss, "valid", "valid_loss"),
            (acc, "train", "train_mean_token_accuracy"),
            (acc, "valid", "valid_mean_token_accuracy"),
        ):
            pairs = [(float(p.step), float(v)) for p in new_points if (v := getattr(p, attr)) is not None]
            if pairs:
                chart.extend(name, [s for s, _ in pairs], [v for _, v in pairs])
        self._chart_rewards(acc, new_points)

    def _chart_rewards(self, chart: MetricChart, points: list[MetricPoint]) -> None:
        """Reinforcement jobs have no token accuracy: that chart shows the rewards instead, the
        mean and each grader's own."""
        series: dict[str, list[tuple[float, float]]] = {}
        for p in points:
            for key, value in p.extra.items():
                if key == "train_mean_reward":
                    name = "train"
                elif key == "full_valid_mean_reward":
                    name = "valid"
                elif key.startswith("rewards/") and key.endswith("/mean"):
                    name = key.split("/")[1]
                else:
                    continue
                series.setdefault(name, []).append((float(p.step), float(value)))
        if not series:
            return
        chart.title = "reward"
        for name, pairs in series.items():
            chart.extend(name, [s for s, _ in pairs], [v for _, v in pairs])

    def update_title(self) -> None:
        job = self.job
        if job is None:
            return
        text = Text(f"{job.id} · {job.base_model} · ")
        text.append_text(status_text(job.status))
        if self.points:
            last = self.points[-1]
            text.append(
                f" · step {last[FIELD['step']]:.0f}" + (f"/{self.total_steps}" if self.total_steps else "")
            )
            text.append(f" · loss {_fmt(last[FIELD['train_loss']])}")
        if job.fine_tuned_model:
            text.append(f" · {job.fine_tuned_model}")
        self.query_one("#metrics-title", Static).update(text)

    # -- actions ------------------------------------------------------------------------------
    def action_toggle_smoothing(self) -> None:
        for chart in self.charts:
            chart.set_smoothing(not chart.smoothing)

    def action_export_csv(self) -> None:
        if not self.job_id or not self.points:
            self.app.notify("no metrics to export yet", severity="warning")
            return
        path = Path.cwd() / f"{self.job_id}-metrics.csv"
        try:
            write_metrics_csv(path, self.points)
        except OSError as exc:
            self.ftui.report_error("exporting metrics", exc)
            return
        if self.app.is_web:
            self.app.deliver_text(path.open(encoding="utf-8"), save_filename=path.name)
        self.app.notify(f"wrote {len(self.points)} rows to {path}", title="Exported")

    def action_pick_job(self) -> None:
        items = [(j.id, f"{j.id}  {j.status}  {j.base_model}") for j in self.ftui.jobs[:200]]

        def after(job_id: str | None) -> None:
            if job_id:
                self.watch_job(job_id)

        self.app.push_screen(PickScreen("Show metrics for job", items), after)

    def action_refresh(self) -> None:
        if self.job_id:
            self.poll()

    @on(DataTable.RowSelected, "#checkpoints")
    def _chat_with_checkpoint(self, event: DataTable.RowSelected) -> None:
        model = str(event.row_key.value)
        self.post_message(OpenPlayground(model))
