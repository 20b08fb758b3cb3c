"""SVG snapshots of each pane at 80x24 and 120x40, on canned data (fixed clock, no blink).

Update after reviewing the report: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from support.tui_fakes import ready, wait_for

from ftui.tui.screens.datasets import DatasetsPane
from ftui.tui.screens.help import HelpScreen
from ftui.tui.screens.job_form import JobFormScreen
from ftui.tui.screens.metrics import MetricsPane
from ftui.tui.screens.playground import PlaygroundPane
from ftui.tui.widgets.metric_chart import MetricChart

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_jobs_pane(snap_compare, make_app, size) -> None:
    async def settle(pilot) -> None:
        await ready(pilot, rows=4)

    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


def canned_report(path, **kwargs):
    # A fixed report: this snapshot is about the pane's layout, not about token counting.
    for done in (50, 100):
        kwargs["progress"](done, 100)
    return SimpleNamespace(
        valid=False,
        format="chat",
        examples=10,
        billed_tokens_per_epoch=1234,
        errors=[SimpleNamespace(line=10, code="missing_messages_list", message="'messages' must be a list")],
        warnings=[
            SimpleNamespace(line=None, code="too_few_examples", message="10 examples; 50+ recommended")
        ],
        tokens=SimpleNamespace(total=1234, max_example=140, p50=120, p95=138, over_limit=0),
    )


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_datasets_pane_with_report(snap_compare, make_app, dataset_dir, size, monkeypatch) -> None:
    monkeypatch.setattr(
        "ftui.data.validate_process.ValidationProcess.validate",
        lambda self, path, **kwargs: canned_report(path, **kwargs),
    )
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    good = json.dumps({"messages": messages})
    (dataset_dir / "train.jsonl").write_text("\n".join([good] * 9 + ['{"messages": 3}']) + "\n")

    async def settle(pilot) -> None:
        await ready(pilot)
        await pilot.press("1", "enter")
        pane = pilot.app.query_one(DatasetsPane)
        await wait_for(pilot, lambda: pane.report is not None and pane.models)
        await pilot.pause(0.1)

    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_metrics_pane(snap_compare, make_app, size) -> None:
    async def settle(pilot) -> None:
        await ready(pilot, rows=4)
        await pilot.press("m")
        pane = pilot.app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(pane.points) == 40 and len(pane.checkpoints) == 2)
        await wait_for(pilot, lambda: all(c.settled for c in pilot.app.query(MetricChart)))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_playground_compare(snap_compare, make_app, size) -> None:
    async def settle(pilot) -> None:
        await ready(pilot)
        await pilot.press("4")
        pane = pilot.app.query_one(PlaygroundPane)
        await wait_for(pilot, lambda: pane.models)
        await pilot.press("ctrl+t")
        pilot.app.query_one("#model-a").value = "tiny-llama"
        pilot.app.query_one("#model-b").value = "ft:tiny-llama:demo-1"
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: len(pane.history["a"]) == 2 and len(pane.history["b"]) == 2)
        await pilot.pause(0.1)

    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


def test_help_screen(snap_compare, make_app) -> None:
    async def settle(pilot) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


def test_job_form(snap_compare, make_app) -> None:
    async def settle(pilot) -> None:
        await ready(pilot, rows=4)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobFormScreen))
        await wait_for(pilot, lambda: bool(pilot.app.screen.query_one("#base_model").value))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_deployments_pane(snap_compare, make_app, size) -> None:
    from support.tui_fakes import CannedDeployingProvider

    from ftui.tui.screens.deployments import DeploymentsPane

    async def settle(pilot) -> None:
        await ready(pilot, rows=4)
        await pilot.press("5")
        pane = pilot.app.query_one(DeploymentsPane)
        await wait_for(pilot, lambda: len(pane.deployments) == 2)
        await pilot.pause(0.1)

    assert snap_compare(make_app(CannedDeployingProvider()), terminal_size=size, run_before=settle)
