"""Cost before a run in the TUI: the job form shows the provider's estimate before Create, and the
Datasets pane asks the provider for each base model's price (no price table of its own)."""

from __future__ import annotations

import json
from pathlib import Path

from support.tui_fakes import CannedProvider, ready, screen_text, wait_for

from ftui.model import CostEstimate, JobSpec
from ftui.tui.screens.datasets import DatasetsPane
from ftui.tui.screens.job_form import JobFormScreen

GOOD = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}


def write_dataset(folder: Path, n: int = 40) -> Path:
    path = folder / "train.jsonl"
    path.write_text("\n".join([json.dumps(GOOD)] * n) + "\n", encoding="utf-8")
    return path


async def test_the_job_form_shows_the_cost_before_create(make_app, dataset_dir: Path) -> None:
    data = write_dataset(dataset_dir)
    provider = CannedProvider()
    app = make_app(provider)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot, rows=4)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        cost = form.query_one("#form-cost")
        select = form.query_one("#base_model")
        await wait_for(pilot, lambda: any(v == "gpt-4o-mini-2024-07-18" for _, v in select._options))
        select.value = "gpt-4o-mini-2024-07-18"
        form.query_one("#training_file").value = str(data)
        form.query_one("#n_epochs").value = "2"
        # Priced per token: the file's billed tokens are counted (in the helper process) first.
        await wait_for(pilot, lambda: "≈ $" in str(cost.render()), timeout=60)
        text = str(cost.render())
        assert "2 epochs ×" in text and "$3.00 / 1M" in text and "canned prices" in text
        select.value = "tiny-llama"
        await wait_for(pilot, lambda: "not priced" in str(cost.render()))
        assert provider.created == []  # nothing was created to find out


async def test_the_datasets_pane_prices_each_base_model_through_the_provider(
    make_app, dataset_dir: Path
) -> None:
    write_dataset(dataset_dir)
    asked: list[JobSpec] = []

    class Pricing(CannedProvider):
        async def estimate_cost(self, spec, tokens=None) -> CostEstimate:  # type: ignore[override]
            asked.append(spec)
            if spec.base_model == "tiny-llama":
                return CostEstimate(
                    per_hour=2.5, basis="per instance-hour", source="test prices", as_of="2026-12"
                )
            return await super().estimate_cost(spec, tokens)

    app = make_app(Pricing())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("1")
        pane = app.query_one(DatasetsPane)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "not priced" in screen_text(app) or "$2.50/hour" in screen_text(app), timeout=60
        )
        await wait_for(pilot, lambda: "$2.50/hour" in screen_text(app))
        text = screen_text(app)
        assert "3 epochs (auto)" in text  # 40 examples: OpenAI's rule picks 3
        assert "prices: canned prices; test prices, 2026-12" in text
        assert {s.base_model for s in asked} == {"tiny-llama", "gpt-4o-mini-2024-07-18"}
        assert all(s.hyperparameters.n_epochs == 3 for s in asked)
        assert pane.report is not None
