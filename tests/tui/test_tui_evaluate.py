"""The Evaluate pane on the real local provider, driven by Pilot: a fine-tuned tiny model against its
base and a few-shot baseline, live progress, the results table and chart, one example side by side,
the HTML report, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.eventually import eventually
from support.tui_fakes import ready, wait_for
from support.tuned import rows, tuned_model, write
from textual.widgets import DataTable, Input, ProgressBar

from ftui.session import Session
from ftui.tui.app import FtuiApp
from ftui.tui.screens.evaluate import EvaluatePane, ExampleScreen

pytestmark = pytest.mark.slow


async def test_evaluate_pane_compares_fine_tuned_base_and_few_shot(
    ftui_home: Path, dataset_dir: Path
) -> None:
    model = tuned_model(ftui_home)
    test = write(dataset_dir / "test.jsonl", rows(8, "Greet guest {i}, please."))
    app = FtuiApp(Session(), poll_interval=0.3, folder=dataset_dir)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await ready(pilot, rows=None)
        await pilot.press("6")
        await wait_for(pilot, lambda: app.active_view == "evaluate" and app.query(EvaluatePane))
        pane = app.query_one(EvaluatePane)
        for field, value in {
            "model": model,
            "baselines": "tiny-llama",
            "data": str(test),
            "graders": "exact, contains",
            "few-shot": "2",
            "max-tokens": "8",
        }.items():
            pane.query_one(f"#ev-{field}", Input).value = value
        await wait_for(pilot, lambda: pane.query_one("#ev-model").has_focus)
        await pilot.press("ctrl+r")

        def status() -> str:
            return str(pane.query_one("#ev-status").render())

        # A run may start and finish between two polls: what proves it ran is the report, and a
        # failure fails at once with what the pane said.
        await eventually(
            lambda: pane.running or pane.report is not None,
            fail=lambda _: status() if status().startswith("failed") else None,
            pause=pilot.pause,
            timeout=60,
            what=f"evaluation started (status {status()!r})",
        )
        progress = pane.query_one("#ev-progress", ProgressBar)
        await wait_for(pilot, lambda: progress.total == 24, timeout=120)
        await eventually(
            lambda: pane.report is not None,
            fail=lambda _: status() if status().startswith("failed") else None,
            pause=pilot.pause,
            timeout=240,
        )
        report = pane.report
        assert report is not None and report["complete"]
        assert progress.progress == 24

        summary = pane.query_one("#ev-summary", DataTable)
        assert summary.row_count == 3 and str(summary.get_row_at(0)[2]).startswith("1.000")
        status = str(pane.query_one("#ev-status").render())
        assert f"{model} beat tiny-llama" in status
        assert pane.query_one("#ev-examples", DataTable).row_count == 8

        examples = pane.query_one("#ev-examples", DataTable)
        examples.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExampleScreen))
        assert "reference: ahoy" in str(app.screen.query_one("VerticalScroll Static").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExampleScreen))

        await pilot.press("ctrl+e")
        report_file = dataset_dir / "evaluation.html"
        await wait_for(pilot, report_file.exists)
        assert "application/json" in report_file.read_text()


async def test_evaluate_pane_reports_a_missing_test_file_without_crashing(ftui_home: Path, dataset_dir: Path):
    app = FtuiApp(Session(), poll_interval=0.3, folder=dataset_dir)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await ready(pilot, rows=None)
        await pilot.press("6")
        await wait_for(pilot, lambda: app.active_view == "evaluate" and app.query(EvaluatePane))
        pane = app.query_one(EvaluatePane)
        await wait_for(pilot, lambda: pane.query_one("#ev-model").has_focus)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: any("give a model" in n.message for n in app._notifications))
        pane.query_one("#ev-model", Input).value = "tiny-llama"
        pane.query_one("#ev-data", Input).value = str(dataset_dir / "nope.jsonl")
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: any("no such file" in n.message for n in app._notifications), timeout=60
        )
        assert not pane.running and "failed" in str(pane.query_one("#ev-status").render())
