"""Metrics for a reinforcement job: the second chart shows the mean reward and each grader's own."""

from __future__ import annotations

from datetime import timedelta

from support.tui_fakes import T0, CannedProvider, canned_jobs, ready, wait_for

from ftui.model import JobEvent, MetricPoint
from ftui.tui.screens.metrics import MetricsPane
from ftui.tui.widgets.metric_chart import MetricChart


def reward_events(job_id: str, steps: int = 12) -> list[JobEvent]:
    return [
        JobEvent(
            id=f"ev-{job_id}-{step:04d}",
            created_at=T0 + timedelta(seconds=step),
            message=f"Step {step}/{steps}: training loss=0.00, train mean reward={step / steps:.2f}",
            type="metrics",
            metrics=MetricPoint(
                step=step,
                total_steps=steps,
                train_loss=0.0,
                extra={
                    "train_mean_reward": step / steps,
                    "rewards/lower/mean": step / steps,
                    "rewards/keyword/mean": 1.0 if step > 6 else 0.0,
                    **({"full_valid_mean_reward": 0.5} if step == 6 else {}),
                },
            ),
        )
        for step in range(1, steps + 1)
    ]


async def test_a_reinforcement_jobs_rewards_are_charted_per_grader(make_app) -> None:
    jobs = canned_jobs()
    jobs[0] = jobs[0].model_copy(update={"method": "reinforcement"})
    app = make_app(CannedProvider(jobs=jobs, events={jobs[0].id: reward_events(jobs[0].id)}))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, rows=4)
        await pilot.press("m")
        pane = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(pane.points) == 12)
        chart = app.query_one("#acc-chart", MetricChart)
        assert chart.title == "reward"
        assert {"train", "valid", "lower", "keyword"} <= set(chart.series)
        assert chart.series["train"][1][-1] == 1.0 and chart.series["valid"][0] == [6.0]
