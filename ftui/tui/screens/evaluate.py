"""Evaluate: a model against baselines and a few-shot prompting baseline on a test set, live.

The same engine as `ftui eval` (ftui.evaluate), run on the provider bridge's loop: the form takes
the same options, the progress bar and the per-model table move as answers are graded, the chart
shows each model's mean with its 95% interval, and Enter on an example opens it side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, ProgressBar, Static
from textual_plotext import PlotextPlot

from ftui.tui.screens.base import Pane

if TYPE_CHECKING:
    from ftui.evaluate.plan import Options
    from ftui.evaluate.run import Row


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


class ScoreChart(PlotextPlot):
    """Each model's mean score on one grader (bars, numbered as in the models table) with its 95%
    interval (an error bar spanning exactly the interval)."""

    def show(self, grader: str, means: list[float], lows: list[float], highs: list[float]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"{grader}: mean, 95% CI")
        if means:
            xs = [float(i) for i in range(1, len(means) + 1)]
            plt.bar(xs, means, width=0.5)
            mids = [(lo + hi) / 2 for lo, hi in zip(lows, highs, strict=True)]
            plt.error(xs, mids, yerr=[(hi - lo) / 2 for lo, hi in zip(lows, highs, strict=True)], color="red")
            plt.xticks(xs, [str(i) for i in range(1, len(means) + 1)])
            plt.xlim(0.5, len(means) + 0.5)
            plt.ylim(0, max([1.0, *highs]) * 1.05)
        self.refresh()


class ExampleScreen(ModalScreen[None]):
    """One test example: its prompt, the reference and every model's answer with its scores."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss(None)", "Close")]

    def __init__(self, example: dict[str, Any], graders: list[str]) -> None:
        super().__init__()
        self.example, self.graders = example, graders

    def compose(self) -> ComposeResult:
        e = self.example
        with Vertical(classes="dialog wide tall"):
            yield Static(f"example {e['index'] + 1} (line {e['line']})", classes="dialog-title")
            with VerticalScroll():
                yield Static(self._body())

    def _body(self) -> Text:
        e = self.example
        out = Text()
        for m in e["prompt"]:
            out.append(f"{m['role']}: ", style="bold")
            out.append(m["content"] + "\n")
        if e["reference"] is not None:
            out.append("reference: ", style="bold green")
            out.append(e["reference"] + "\n")
        for label, o in e["outputs"].items():
            scores = "  ".join(f"{g} {o['scores'].get(g, 0):.3f}" for g in self.graders if g in o["scores"])
            out.append(f"\n── {label} ── {scores}\n", style="bold")
            if o["error"]:
                out.append(f"failed: {o['error']}\n", style="red")
            else:
                out.append((o["output"] or "") + "\n")
            for g, flags in o["grader_errors"].items():
                out.append(f"{g}: {', '.join(flags)}\n", style="yellow")
            for g, detail in o["details"].items():
                out.append(f"{g}: {detail[:300]}\n", style="dim")
        return out


class EvaluatePane(Pane):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", "Run", id="ev-run", priority=True),
        Binding("ctrl+e", "export", "Export HTML", id="ev-export", priority=True),
        Binding("escape", "stop", "Stop", id="ev-stop", show=False),
    ]
    FOCUS_TARGET = "#ev-model"
    KEY_HELP: ClassVar[dict[str, str]] = {
        "enter": "On an example: its prompt, reference and every answer side by side",
        "fields": "model and baselines take MODEL or MODEL@PROFILE; baselines and graders are comma lists",
    }

    def __init__(self) -> None:
        super().__init__(id="evaluate-pane")
        self.report: dict[str, Any] | None = None
        self.running = False
        self._sums: dict[str, list[float]] = {}
        self._done = 0

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pg-row"):
            yield Label("model")
            yield Input(placeholder="model under test (MODEL or MODEL@PROFILE)", id="ev-model")
            yield Label("vs")
            yield Input(placeholder="baselines, comma-separated", id="ev-baselines")
        with Horizontal(classes="pg-row"):
            yield Label("data")
            yield Input(placeholder="test set (chat JSONL)", id="ev-data")
            yield Label("graders")
            yield Input("fuzzy", placeholder="files or presets", id="ev-graders")
        with Horizontal(classes="pg-row"):
            yield Label("few-shot")
            yield Input("0", id="ev-few-shot", classes="num")
            yield Label("train")
            yield Input(placeholder="training file (default: the model's job's)", id="ev-train")
            yield Label("max tokens")
            yield Input("256", id="ev-max-tokens", classes="num")
            yield Label("concurrency")
            yield Input("8", id="ev-concurrency", classes="num")
        yield Static("fill in a model and a test set, then ctrl+r", id="ev-status", classes="status-line")
        yield ProgressBar(id="ev-progress", show_eta=True)
        with Horizontal(id="ev-top"):
            with Vertical(id="ev-summary-box"):
                yield DataTable(cursor_type="row", id="ev-summary")
            yield ScoreChart(id="ev-chart")
        with Vertical(id="ev-examples-box"):
            yield DataTable(cursor_type="row", zebra_stripes=True, id="ev-examples")

    def on_mount(self) -> None:
        self.query_one("#ev-summary-box").border_title = "models"
        self.query_one("#ev-examples-box").border_title = "examples (enter: side by side)"
        # Built after the first frame: if the user already switched here, take the focus now, so
        # what they type (and ctrl+r) reaches the form.
        if self.ftui.active_view == "evaluate":
            self.call_after_refresh(self.focus_default)

    def use_model(self, model: str) -> None:
        self.query_one("#ev-model", Input).value = model

    # -- options ------------------------------------------------------------------------------
    def options(self) -> Options | None:
        from ftui.evaluate.plan import Options

        def value(name: str) -> str:
            return self.query_one(f"#ev-{name}", Input).value.strip()

        model, data = value("model"), value("data")
        if not model or not data:
            self.app.notify("give a model and a test set", severity="warning")
            return None
        try:
            few = int(value("few-shot") or "0")
            max_tokens = int(value("max-tokens") or "256")
            concurrency = int(value("concurrency") or "8")
        except ValueError:
            self.app.notify("few-shot, max tokens and concurrency are whole numbers", severity="error")
            return None
        if few < 0 or max_tokens < 1 or concurrency < 1:
            self.app.notify("few-shot ≥ 0, max tokens ≥ 1, concurrency ≥ 1", severity="error")
            return None
        return Options(
            model=model,
            data=str(Path(data).expanduser()),
            baselines=_split(value("baselines")),
            graders=_split(value("graders")),
            few_shot=few,
            train=value("train") or None,
            max_tokens=max_tokens,
            concurrency=concurrency,
        )

    # -- running ------------------------------------------------------------------------------
    def action_run(self) -> None:
        if self.running:
            self.app.notify("an evaluation is running: escape stops it", severity="warning")
            return
        opts = self.options()
        if opts is None:
            return
        self.running = True
        self.report = None
        self._sums, self._done = {}, 0
        self.query_one("#ev-examples", DataTable).clear(columns=True)
        self.run_worker(self._run(opts), group="evaluate", exclusive=True, exit_on_error=False,
                        description="evaluating")  # fmt: skip

    def action_stop(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "evaluate")
            self.status("stopped: the answers so far are cached; ctrl+r finishes without redoing them")

    def status(self, text: str) -> None:
        self.query_one("#ev-status", Static).update(text)

    async def _run(self, opts: Options) -> None:
        from ftui.evaluate import report as reports
        from ftui.evaluate.cache import AnswerCache
        from ftui.evaluate.calls import Caller
        from ftui.evaluate.plan import prepare
        from ftui.evaluate.run import run
        from ftui.graders.base import Context
        from ftui.session import open_provider

        app = self.app
        session = self.ftui.session
        active, config = session.profile.name, session.config
        self.status(f"preparing {opts.data}…")

        def on_row(row: Row, done: int, total: int) -> None:
            with contextlib.suppress(RuntimeError):  # the app is closing
                app.call_from_thread(self._row_done, row, done, total)

        async def evaluate(active_provider: Any) -> dict[str, Any]:
            def opener(profile: str) -> Any:
                if profile == active:
                    return active_provider
                return open_provider(config.profile(profile), session.store)

            cache = AnswerCache()
            caller = Caller(opener, concurrency=opts.concurrency, cache=cache)
            ev = None
            try:
                ev, notes = await prepare(opts, caller, active, config.profile_names)
                app.call_from_thread(self._started, ev, notes)
                ctx = Context(judge=caller.judge(active, config.profile_names))
                await run(ev, caller, ctx, on_row)
                providers = {c.label: caller.provider(c.ref.profile).name for c in ev.contenders}
                return reports.build(ev, data=opts.data, providers=providers, warnings=notes)
            finally:
                for g in ev.graders if ev else []:
                    await g.aclose()
                # The active profile's provider belongs to the app: only the others are closed.
                caller._providers.pop(active, None)
                await caller.aclose()
                cache.close()

        try:
            self.report = await self.ftui.call(evaluate)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.status(f"failed: {exc}")
            raise
        finally:
            self.running = False
        self._show_report(self.report)

    def _started(self, ev: Any, notes: list[str]) -> None:
        for note in notes:
            self.app.notify(note, title="Evaluate", severity="warning", markup=False, timeout=10)
        self._graders = [g.name for g in ev.graders]
        self._labels = [c.label for c in ev.contenders]
        self._sums = {c: [0.0, 0.0] for c in self._labels}
        self.query_one("#ev-progress", ProgressBar).update(total=ev.total, progress=0)
        table = self.query_one("#ev-summary", DataTable)
        table.clear(columns=True)
        table.add_columns("model", "done", f"{self._graders[0]} (running)")
        for label in self._labels:
            table.add_row(label, "0", "-", key=label)
        self.status(
            f"{len(ev.examples)} examples × {len(ev.contenders)} models · graders {', '.join(self._graders)}"
        )

    def _row_done(self, row: Row, done: int, total: int) -> None:
        self._done = done
        self.query_one("#ev-progress", ProgressBar).update(progress=done)
        if done == total:
            self.status(f"all {total} answers graded: computing intervals and tests…")
        first = self._graders[0] if getattr(self, "_graders", None) else None
        s = self._sums.setdefault(row.contender, [0.0, 0.0])
        if first and first in row.grades:
            s[0] += row.grades[first].score
        s[1] += 1
        table = self.query_one("#ev-summary", DataTable)
        try:
            index = table.get_row_index(row.contender)
        except Exception:  # a row of a table being rebuilt: the final report redraws it anyway
            return
        table.update_cell_at(Coordinate(index, 1), f"{int(s[1])}", update_width=True)
        mean = f"{s[0] / s[1]:.3f}" if s[1] else "-"
        table.update_cell_at(Coordinate(index, 2), mean, update_width=True)

    def _show_report(self, report: dict[str, Any]) -> None:
        from ftui.evaluate.report import comparison_rows, summary_rows

        header, rows = summary_rows(report)
        table = self.query_one("#ev-summary", DataTable)
        table.clear(columns=True)
        table.add_columns("#", *header)  # the number is the model's bar in the chart
        for n, row in enumerate(rows, 1):
            table.add_row(str(n), *row, key=row[0])
        graders = [g["name"] for g in report["graders"]]
        first = graders[0]
        labels = [c["label"] for c in report["contenders"]]
        s = [report["summary"][label][first] for label in labels]
        self.query_one(ScoreChart).show(
            first,
            [x["mean"] or 0.0 for x in s],
            [x["ci95"][0] or 0.0 for x in s],
            [x["ci95"][1] or 0.0 for x in s],
        )
        examples = self.query_one("#ev-examples", DataTable)
        examples.clear(columns=True)
        examples.add_columns("#", "prompt", *labels)
        for e in report["examples"]:
            prompt = next((m["content"] for m in reversed(e["prompt"]) if m["role"] == "user"), "")
            cells = []
            for label in labels:
                o = e["outputs"].get(label)
                score = o["scores"].get(first) if o else None
                cells.append("failed" if o and o["error"] else "-" if score is None else f"{score:.3f}")
            examples.add_row(str(e["index"] + 1), prompt[:40].replace("\n", " "), *cells, key=str(e["index"]))
        _, comparisons = comparison_rows(report)
        verdicts = [f"{c[1]}: {c[5]}" for c in comparisons]
        beat = [v for v in verdicts if " beat " in v]
        self.status(
            f"done in {report['seconds']:.1f} s · "
            + ("; ".join(beat) if beat else "no significant difference" if verdicts else "one model")
            + " · ctrl+e: HTML report"
        )

    @on(DataTable.RowSelected, "#ev-examples")
    def _open_example(self, event: DataTable.RowSelected) -> None:
        if self.report is None:
            return
        index = int(str(event.row_key.value))
        example = next(e for e in self.report["examples"] if e["index"] == index)
        self.app.push_screen(ExampleScreen(example, [g["name"] for g in self.report["graders"]]))

    def action_export(self) -> None:
        from ftui.evaluate.report import html_report

        if self.report is None:
            self.app.notify("no results yet: ctrl+r runs an evaluation", severity="warning")
            return
        path = Path.cwd() / "evaluation.html"
        try:
            path.write_text(html_report(self.report), encoding="utf-8")
        except OSError as exc:
            self.ftui.report_error("writing the report", exc)
            return
        if self.app.is_web:
            self.app.deliver_text(path.open(encoding="utf-8"), save_filename=path.name)
        self.app.notify(f"wrote {path}", title="Report")
