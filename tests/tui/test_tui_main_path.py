"""The whole flow on the real local provider with tiny-llama: form → training → metrics → chat."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.factories import write_dataset
from support.tui_fakes import ready, wait_for

from ftui.session import Session
from ftui.tui.app import FtuiApp
from ftui.tui.screens.job_form import JobFormScreen
from ftui.tui.screens.metrics import FIELD, MetricsPane
from ftui.tui.screens.playground import PlaygroundPane

pytestmark = pytest.mark.slow
TRAINING_TIMEOUT_S = 240  # a guard against a hung worker, not a speed assertion


async def test_create_job_from_form_watch_it_finish_then_chat_with_result(dataset_dir: Path) -> None:
    data = write_dataset(dataset_dir / "pirate.jsonl")
    app = FtuiApp(Session(), poll_interval=0.3, folder=dataset_dir)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await ready(pilot, rows=0)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        select = form.query_one("#base_model")
        await wait_for(pilot, lambda: any(v == "tiny-llama" for _, v in select._options), timeout=60)
        select.value = "tiny-llama"
        form.query_one("#training_file").value = str(data)
        form.query_one("#n_epochs").value = "2"
        form.query_one("#batch_size").value = "5"
        form.query_one("#seed").value = "7"
        await pilot.press("ctrl+s")

        await wait_for(pilot, lambda: app.jobs and app.jobs[0].done, timeout=TRAINING_TIMEOUT_S)
        job = app.jobs[0]
        assert job.status == "succeeded", job.error
        assert job.fine_tuned_model
        await wait_for(pilot, lambda: any(f"{job.id} succeeded" in n.message for n in app._notifications))

        await pilot.press("m")
        metrics = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: metrics.points, timeout=60)
        assert metrics.points[-1][FIELD["train_loss"]] is not None
        assert app.query_one("#loss-chart").series["train"][0]

        app.open_playground(job.fine_tuned_model)
        playground = app.query_one(PlaygroundPane)
        await wait_for(pilot, lambda: app.query_one("#model-a").value == job.fine_tuned_model, timeout=60)
        app.query_one("#max-tokens").value = "8"
        app.query_one("#prompt").focus()
        await pilot.press(*"Question 1?", "enter")
        await wait_for(pilot, lambda: len(playground.history["a"]) == 2, timeout=120)
        assert playground.history["a"][1].role == "assistant"
