from __future__ import annotations

import csv

from support.tui_fakes import CannedProvider, ready, wait_for

from ftui.tui.downsample import bucket_mean, ema
from ftui.tui.screens.metrics import FIELD, MetricsPane
from ftui.tui.widgets.metric_chart import MAX_POINTS, MetricChart


async def test_m_on_a_job_opens_charts_events_and_checkpoints(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, rows=4)
        await pilot.press("m")
        pane = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(pane.points) == 40 and len(pane.checkpoints) == 2)
        loss = app.query_one("#loss-chart", MetricChart)
        assert set(loss.series) == {"train", "valid"}
        assert len(loss.series["train"][0]) == 40
        assert "Step 40/40" in "\n".join(app.query_one("#events-log").lines)
        assert app.query_one("#checkpoints").row_count == 2


async def test_events_arrive_incrementally_while_job_runs(make_app) -> None:
    provider = CannedProvider()
    full = provider._events["ftjob-00000"]
    provider._events["ftjob-00000"] = full[:11]
    app = make_app(provider)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, rows=4)
        await pilot.press("m")
        pane = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(pane.points) == 10)
        provider._events["ftjob-00000"] = full
        await wait_for(pilot, lambda: len(pane.points) == 40)
        assert [p[FIELD["step"]] for p in pane.points] == list(range(1, 41))


async def test_smoothing_toggle_and_csv_export(make_app, dataset_dir) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, rows=4)
        await pilot.press("m")
        pane = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(pane.points) == 40)
        await pilot.press("s")
        assert all(chart.smoothing for chart in pane.charts)
        await pilot.press("e")
        out = dataset_dir / "ftjob-00000-metrics.csv"
        rows = list(csv.DictReader(out.open()))
        assert len(rows) == 40 and rows[0]["step"] == "1" and rows[9]["valid_loss"]


async def test_enter_on_checkpoint_opens_it_in_playground(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, rows=4)
        await pilot.press("m")
        pane = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(pane.checkpoints) == 2)
        app.query_one("#checkpoints").focus()
        await pilot.press("enter")
        select = app.query_one("#model-a")
        await wait_for(pilot, lambda: select.value == "ft:tiny-llama:demo:ckpt-step-20")


def test_bucket_mean_bounds_points_and_keeps_shape() -> None:
    xs = [float(i) for i in range(100_000)]
    ys = [float(i % 10) for i in range(100_000)]
    bx, by = bucket_mean(xs, ys, MAX_POINTS)
    assert len(bx) == MAX_POINTS
    assert bx[0] < bx[-1]
    assert all(abs(y - 4.5) < 0.1 for y in by)
    assert bucket_mean([1.0, 2.0], [3.0, 4.0], 10) == ([1.0, 2.0], [3.0, 4.0])


def test_ema_starts_at_first_value_and_smooths() -> None:
    out = ema([1.0, 0.0, 1.0, 0.0])
    assert out[0] == 1.0
    assert max(out[1:]) < 1.0 and min(out[1:]) > 0.0


async def test_metrics_opens_on_the_one_running_job(make_app) -> None:
    from support.tui_fakes import canned_events, canned_jobs

    jobs = canned_jobs(4)  # newest first: running, succeeded, failed, queued
    jobs[0] = jobs[0].model_copy(update={"status": "succeeded"})
    jobs[2] = jobs[2].model_copy(update={"status": "running", "error": None})
    app = make_app(CannedProvider(jobs=jobs, events={jobs[2].id: canned_events(jobs[2].id)}))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, rows=4)
        await pilot.press("3")
        pane = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: pane.job_id == jobs[2].id and len(pane.points) == 40)


async def test_metrics_opens_on_the_newest_job_when_none_runs(make_app) -> None:
    from support.tui_fakes import canned_jobs

    jobs = [j.model_copy(update={"status": "succeeded"}) for j in canned_jobs(3)]
    app = make_app(CannedProvider(jobs=list(reversed(jobs))))  # listed oldest first
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, rows=3)
        await pilot.press("3")
        pane = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: pane.job_id == jobs[0].id)


async def test_metrics_shown_before_the_first_jobs_poll_picks_a_job_when_it_lands(make_app) -> None:
    app = make_app(initial_view="metrics")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: app.query(MetricsPane) and app.query_one(MetricsPane).job_id == "ftjob-00000"
        )


def test_default_job_rules() -> None:
    from support.tui_fakes import canned_jobs

    from ftui.tui.screens.metrics import default_job

    jobs = canned_jobs(4)
    assert default_job([]) is None
    assert default_job(jobs).id == "ftjob-00000"  # the one running
    two = [jobs[0], jobs[1].model_copy(update={"status": "running"}), jobs[2]]
    assert default_job(two).id == "ftjob-00000"  # two running: the newest
