"""Datasets: local JSONL files, validation with line-numbered errors, token stats, cost, upload."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static

from ftui.tui.display import count, size
from ftui.tui.messages import NewJob
from ftui.tui.screens.base import Pane
from ftui.tui.screens.line_view import LineViewScreen
from ftui.tui.widgets.keyed_table import KeyedTable

if TYPE_CHECKING:
    from ftui.model import CostEstimate
    from ftui.provider import Provider

PATTERNS = ("*.jsonl", "*.jsonl.gz")


def field(obj: Any, name: str, default: Any = None) -> Any:
    """Read `name` from a report part that may be an object or a dict."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def issue_parts(issue: Any) -> tuple[int | None, str, str]:
    if isinstance(issue, (tuple, list)):
        line, code, message = ([*list(issue), None, "", ""])[:3]
        return line, str(code), str(message)
    return field(issue, "line"), str(field(issue, "code", "")), str(field(issue, "message", ""))


def find_datasets(folder: Path, recent: list[str]) -> list[Path]:
    found: list[Path] = []
    for pattern in PATTERNS:
        found.extend(sorted(p for p in folder.glob(pattern) if p.is_file()))
    if not found:
        # A folder with no datasets of its own offers the shipped samples, all of them, whatever
        # was opened before (validating one sample makes it recent; the other must stay listed).
        from ftui.data.samples import SAMPLES, sample_path

        found = [sample_path(method) for method in SAMPLES]
    for name in recent:
        path = Path(name)
        if path.is_file():
            found.append(path)
    seen: dict[str, Path] = {}
    for path in found:
        seen.setdefault(str(path.resolve()), path)
    return list(seen.values())


def display_name(path: Path, folder: Path) -> str:
    """Short enough for an 80-column pane: relative to the folder, `sample/…`, or `~/…`."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(folder.resolve()))
    except ValueError:
        pass
    from ftui.data.samples import sample_path

    if resolved.parent == sample_path().resolve().parent:
        return f"sample/{path.name}"
    try:
        return "~/" + str(resolved.relative_to(Path.home()))
    except ValueError:
        return str(path)


async def cost_rows(
    provider: Provider[Any], path: Path, tokens_per_epoch: int, examples: int, models: list[str]
) -> list[tuple[str, CostEstimate]]:
    """What training on this file would cost with each base model, as the provider prices it."""
    from ftui.costs import training_estimate
    from ftui.model import JobSpec

    rows = []
    for model in models:
        spec = JobSpec(base_model=model, training_file=str(path))
        rows.append((model, await training_estimate(provider, spec, tokens_per_epoch, examples)))
    return rows


def cost_cell(estimate: CostEstimate) -> str:
    from ftui.costs import money

    if estimate.total is not None:
        return money(estimate.total)
    if estimate.per_hour is not None:
        return f"{money(estimate.per_hour)}/hour"
    return "not priced"


class DatasetsPane(Pane):
    FOCUS_TARGET = "#ds-files"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "validate", "Validate", id="ds-validate"),
        Binding("u", "upload", "Upload", id="ds-upload"),
        Binding("c", "convert", "Convert", id="ds-convert"),
        Binding("s", "split", "Split", id="ds-split"),
        Binding("t", "train", "Train…", id="ds-train"),
        Binding("g", "rescan", "Rescan", id="ds-rescan"),
    ]
    KEY_HELP: ClassVar[dict[str, str]] = {
        "enter": "On a file: validate it; on an error: view that line of the file",
    }

    class Progressed(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(id="datasets-pane")
        self.folder = folder or Path.cwd()
        self.paths: dict[str, Path] = {}
        self.current: Path | None = None
        self.report: Any = None
        self.models: list[Any] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="ds-files-box"):
                yield KeyedTable(("file", "size"), id="ds-files")
            with Vertical(id="ds-report-box"):
                yield Static("select a file and press enter or v to validate", id="ds-summary")
                yield ProgressBar(total=100, show_eta=False, id="ds-progress")
                with VerticalScroll(id="ds-costs-box"):
                    yield Static("", id="ds-costs")
                yield DataTable(cursor_type="row", id="ds-errors")
        yield Static("", id="ds-status", classes="status-line")

    def on_mount(self) -> None:
        self.query_one("#ds-files-box").border_title = "datasets"
        self.query_one("#ds-report-box").border_title = "report"
        self.query_one("#ds-progress").display = False
        self.query_one("#ds-errors", DataTable).add_columns("line", "code", "message")
        self.rescan()

    def on_show(self) -> None:
        self.warm_validation()

    @work(
        thread=True,
        group="ds-warm",
        exclusive=True,
        exit_on_error=False,
        description="starting the validation process",
    )
    def warm_validation(self) -> None:
        # The helper's start and vocabulary load take about a second: begun when the pane is first
        # shown, they are done before the user picks a file (a no-op once it runs).
        from ftui.data.validate_process import shared

        shared().warm()

    def rescan(self) -> None:
        recent = self.ftui.store.recent_datasets()
        paths = find_datasets(self.folder, recent)
        self.paths = {display_name(p, self.folder): p for p in paths}
        rows = []
        for name, path in self.paths.items():
            try:
                rows.append((name, (name, size(path.stat().st_size))))
            except OSError:
                continue
        self.query_one("#ds-files", KeyedTable).sync(rows)
        self.status(
            f"{len(rows)} JSONL file{'' if len(rows) == 1 else 's'} in {self.folder.name}/ and recent"
        )

    def status(self, text: str) -> None:
        self.query_one("#ds-status", Static).update(text)

    def selected(self) -> Path | None:
        key = self.query_one("#ds-files", KeyedTable).current_key
        return self.paths.get(key) if key else None

    def add_path(self, path: Path) -> None:
        try:
            self.ftui.store.remember_dataset(path)
        except OSError:
            return
        self.rescan()

    def profile_changed(self) -> None:
        self.models = []
        if self.report is not None:
            self.show_report(self.report)

    # -- validation ---------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#ds-files")
    def _file_chosen(self) -> None:
        self.action_validate()

    def action_validate(self) -> None:
        path = self.selected()
        if path is None:
            self.app.notify("no dataset selected", severity="warning")
            return
        self.current = path
        self.query_one("#ds-summary", Static).update(f"validating {path.name}…")
        self.query_one("#ds-errors", DataTable).clear()
        self.query_one("#ds-costs", Static).update("")
        self._progress(0, 0)
        self.validate(path)
        self.load_models()

    @work(
        thread=True,
        group="ds-validate",
        exclusive=True,
        exit_on_error=False,
        description="validating the dataset",
    )
    def validate(self, path: Path) -> None:
        # In a helper process: in this thread the tokenizer would hold the GIL, and freeze the UI.
        from ftui.data.validate_process import shared

        def progress(done: int, total: int) -> None:
            self.post_message(self.Progressed(done, total))

        report = shared().validate(path, progress=progress)
        self.app.call_from_thread(self._validated, path, report)

    def _validated(self, path: Path, report: Any) -> None:
        self.query_one("#ds-progress").display = False
        if path != self.current:
            return
        self.report = report
        self.add_path(path)
        self.show_report(report)

    @work(group="ds-models", exclusive=True, exit_on_error=False, description="listing base models")
    async def load_models(self) -> None:
        if not self.models:
            self.models = await self.ftui.call(lambda p: p.base_models())
            if self.report is not None:
                self.show_report(self.report)

    def on_datasets_pane_progressed(self, event: Progressed) -> None:
        self._progress(event.done, event.total)

    def _progress(self, done: int, total: int) -> None:
        bar = self.query_one("#ds-progress", ProgressBar)
        bar.display = True
        bar.update(total=total or None, progress=done)

    def show_report(self, report: Any) -> None:
        valid = bool(field(report, "valid"))
        errors = list(field(report, "errors", []) or [])
        warnings = list(field(report, "warnings", []) or [])
        tokens = field(report, "tokens", {}) or {}
        summary = Text()
        summary.append(
            "✓ valid" if valid else f"✗ {len(errors)} errors", style="bold green" if valid else "bold red"
        )
        summary.append(
            f" · {len(warnings)} warnings · format {field(report, 'format', '?')}"
            f" · {count(field(report, 'examples'))} examples\n"
        )
        summary.append(
            f"tokens {count(field(tokens, 'total'))} · max {count(field(tokens, 'max_example'))}"
            f" · p50 {count(field(tokens, 'p50'))} · p95 {count(field(tokens, 'p95'))}"
            f" · over limit {count(field(tokens, 'over_limit'))}"
        )
        self.query_one("#ds-summary", Static).update(summary)
        self.query_one("#ds-costs", Static).update("estimating the cost…" if self.models else "")
        if self.models and self.current is not None:
            self.price(self.current, report)
        table = self.query_one("#ds-errors", DataTable)
        table.clear()
        for n, issue in enumerate(errors + warnings):
            line, code, message = issue_parts(issue)
            table.add_row(str(line or "-"), code, message, key=f"{n}:{line}")

    @work(group="ds-price", exclusive=True, exit_on_error=False, description="estimating the cost")
    async def price(self, path: Path, report: Any) -> None:
        """The cost of training on this file, per base model, as the provider prices it."""
        from ftui.data.prices import default_epochs

        examples = int(field(report, "examples", 0) or 0)
        tokens = field(report, "tokens", {}) or {}
        per_epoch = int(field(report, "billed_tokens_per_epoch", 0) or field(tokens, "total", 0) or 0)
        models = [str(field(m, "id", "?")) for m in self.models]
        rows = await self.ftui.call(lambda p: cost_rows(p, path, per_epoch, examples, models))
        if path != self.current:
            return
        costs = Table(
            "model",
            "est. cost",
            box=None,
            padding=(0, 1),
            title=f"{default_epochs(examples)} epochs (auto)",
            title_justify="left",
        )
        for model, estimate in rows:
            costs.add_row(model, cost_cell(estimate))
        sources = {f"{e.source}, {e.as_of}" if e.as_of else e.source for _, e in rows if e.source}
        caption = Text("prices: " + "; ".join(sorted(sources)) if sources else "", style="dim")
        self.query_one("#ds-costs", Static).update(Group(costs, caption))

    @on(DataTable.RowSelected, "#ds-errors")
    def _jump_to_line(self, event: DataTable.RowSelected) -> None:
        line = str(event.row_key.value).split(":", 1)[1]
        if self.current is None or not line.isdigit():
            return
        message = str(self.query_one("#ds-errors", DataTable).get_row(event.row_key)[2])
        self.app.push_screen(LineViewScreen(self.current, int(line), message))

    # -- convert, split -----------------------------------------------------------------------
    def action_convert(self) -> None:
        path = self.selected()
        if path is not None:
            self.convert(path)

    @work(thread=True, group="ds-convert", exit_on_error=False, description="converting the dataset")
    def convert(self, path: Path) -> None:
        from ftui.data.convert import convert_file

        dst = path.with_name(path.name.removesuffix(".jsonl") + ".chat.jsonl")
        convert_file(path, dst, to="chat")
        self.app.call_from_thread(self._made, [dst], "converted to chat format")

    def action_split(self) -> None:
        path = self.selected()
        if path is not None:
            self.split(path)

    @work(thread=True, group="ds-split", exit_on_error=False, description="splitting the dataset")
    def split(self, path: Path) -> None:
        from ftui.data.split import split_file

        paths = list(split_file(path, 0.1, 42))
        self.app.call_from_thread(self._made, paths, "split 90/10 (seed 42)")

    def _made(self, paths: list[Path], what: str) -> None:
        for path in paths:
            self.add_path(path)
        self.app.notify(f"{what}: " + ", ".join(p.name for p in paths))

    # -- upload -------------------------------------------------------------------------------
    def action_upload(self) -> None:
        path = self.selected()
        if path is not None:
            self.upload(path)

    @work(group="ds-upload", exclusive=True, exit_on_error=False, description="uploading the dataset")
    async def upload(self, path: Path) -> None:
        from ftui.uploads import upload_once

        self._progress(0, path.stat().st_size)

        def progress(done: int, total: int) -> None:
            self.post_message(self.Progressed(done, total))

        try:
            done = await self.ftui.call(lambda p: upload_once(p, path, progress=progress))
        finally:
            self.query_one("#ds-progress").display = False
        remote = done.file
        if done.deduplicated:
            self.app.notify(
                f"{path.name} is already uploaded as {remote.id}; not uploading again", title="Upload"
            )
            self.status(f"{path.name} → {remote.id} (uploaded before)")
            return
        self.app.notify(f"uploaded {path.name} as {remote.id}", title="Upload")
        self.status(f"{path.name} → {remote.id}")

    def action_train(self) -> None:
        path = self.selected()
        if path is not None:
            self.train(path)

    @work(group="ds-train", exclusive=True, exit_on_error=False, description="preparing the job form")
    async def train(self, path: Path) -> None:
        """Open the job form on this file: its uploaded id if it was uploaded, else its path (creating
        the job then uploads it, once)."""
        from ftui.uploads import uploaded_id

        known = await self.ftui.call(lambda p: uploaded_id(p, path))  # a big file takes a while to hash
        self.post_message(NewJob(training_file=known or str(path)))

    def action_rescan(self) -> None:
        self.rescan()
