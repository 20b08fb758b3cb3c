"""Key-press-to-frame latency: Jobs pane with 10,000 jobs, Metrics chart with 100,000 points.

Drives the real app headless (`run_test`) on an in-memory provider. The latency of one key is the
time from the press until Textual hands the next frame to the driver. The baseline is the same
keys on the same panes holding 10 jobs and 100 points, measured in the same run.
Target: p95 under 50 ms on the big panes.

    python bench/bench_tui_latency.py [--presses 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import textual.app

from ftui.model import Job, JobEvent, MetricPoint, Page
from ftui.provider import ProfileSettings, Provider, page_after
from ftui.session import Session

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ("running", "succeeded", "failed", "queued", "cancelled")

frames: list[float] = []
_display = textual.app.App._display


def _stamp(self: Any, screen: Any, renderable: Any) -> None:
    if renderable is not None:
        frames.append(time.perf_counter())
    return _display(self, screen, renderable)


textual.app.App._display = _stamp  # type: ignore[method-assign]


class MemoryProvider(Provider[ProfileSettings]):
    name = "memory"

    def __init__(self, n_jobs: int, n_points: int) -> None:
        super().__init__(ProfileSettings(provider="local"))
        self._jobs = [
            Job(
                id=f"ftjob-{i:06d}",
                provider="memory",
                status=STATUSES[i % 5],  # type: ignore[arg-type]
                base_model="tiny-llama",
                created_at=T0 - timedelta(minutes=i),
                fine_tuned_model=f"ft:tiny-llama:{i}" if i % 5 == 1 else None,
                trained_tokens=1000 * i,
            )
            for i in range(n_jobs)
        ]
        self.n_points = n_points

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        return page_after(self._jobs, limit, cursor, key=lambda j: j.id)

    async def job(self, job_id: str) -> Job:
        return self._jobs[0].model_copy(update={"status": "succeeded"})

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        # Made on demand, as a real provider reads them from its backend: nothing long-lived here.
        if cursor:
            return Page[JobEvent](items=[], next_cursor=cursor)
        n = self.n_points
        made = [
            JobEvent(
                id=f"ev-{s:07d}",
                created_at=T0,
                message=f"step {s}",
                type="metrics",
                metrics=MetricPoint(
                    step=s, train_loss=2.0 / (1 + s / 1000), train_mean_token_accuracy=min(1.0, s / n)
                ),
            )
            for s in range(1, n + 1)
        ]
        return Page[JobEvent](items=made, next_cursor=made[-1].id if made else None)

    async def checkpoints(self, job_id: str) -> list[Any]:
        return []


class MemorySession(Session):
    def __init__(self, provider: Provider[Any]) -> None:
        super().__init__()
        self._memory = provider

    def provider(self) -> Provider[Any]:
        return self._memory


cpu: list[float] = []


async def press_and_time(pilot: Any, key: str) -> float:
    """Wall time from the press to the next frame; the process CPU time spent is kept in `cpu`."""
    await pilot.pause()
    start, start_cpu = time.perf_counter(), time.process_time()
    frames.clear()
    await pilot.press(key)
    for _ in range(500):
        if frames:
            break
        await asyncio.sleep(0.001)
    cpu.append(time.process_time() - start_cpu)
    return (frames[0] if frames else time.perf_counter()) - start


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


async def measure(
    n_jobs: int, n_points: int, presses: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    from ftui.tui.app import FtuiApp
    from ftui.tui.screens.metrics import MetricsPane

    app = FtuiApp(MemorySession(MemoryProvider(n_jobs, n_points)), poll_interval=3600, jobs_limit=n_jobs)
    out: dict[str, list[float]] = {"jobs: up/down": [], "jobs: page up/down": [], "metrics: smoothing": []}
    out_cpu: dict[str, list[float]] = {name: [] for name in out}
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3000):
            if app.query_one("#jobs-table").row_count == n_jobs:
                break
            await pilot.pause(0.01)
        # The first sight of 10,000 jobs is written to the state store in a background thread
        # (once per job, ever); measure the steady state after it, not the one-off import.
        while any(w.group == "job-record" and w.is_running for w in app.workers):
            await pilot.pause(0.05)
        # Alternate directions so every press moves the cursor (and so paints) even on 10 rows.
        for i in range(presses):
            out["jobs: up/down"].append(await press_and_time(pilot, "down" if i % 4 < 2 else "up"))
            out_cpu["jobs: up/down"].append(cpu[-1])
        for i in range(max(2, presses // 2)):
            key = "pagedown" if i % 2 == 0 else "pageup"
            out["jobs: page up/down"].append(await press_and_time(pilot, key))
            out_cpu["jobs: page up/down"].append(cpu[-1])
        await pilot.press("home")
        app.show_metrics("ftjob-000000")
        pane = app.query_one(MetricsPane)
        for _ in range(3000):
            if len(pane.points) == n_points:
                break
            await pilot.pause(0.01)
        await pilot.pause(0.5)
        for _ in range(presses // 2):
            out["metrics: smoothing"].append(await press_and_time(pilot, "s"))
            out_cpu["metrics: smoothing"].append(cpu[-1])
    return out, out_cpu


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presses", type=int, default=60)
    args = parser.parse_args()
    base, base_cpu = await measure(10, 100, args.presses)
    big, big_cpu = await measure(10_000, 100_000, args.presses)
    print(
        f"p95 key-press-to-frame latency, headless 120x40, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for name in big:
        b, s = p95(big[name]) * 1000, p95(base[name]) * 1000
        verdict = "ok" if b < 50 else "OVER"
        print(
            f"{name:20s} 10k jobs/100k points: {b:6.1f} ms (cpu {p95(big_cpu[name]) * 1000:5.1f})   "
            f"small: {s:6.1f} ms (cpu {p95(base_cpu[name]) * 1000:5.1f})   ratio: {b / s:.2f}x   "
            f"target < 50 ms: {verdict}"
        )
    worst = max(p95(v) for v in big.values()) * 1000
    print(f"ratio: {worst / 50:.2f}x of the 50 ms budget (worst p95 {worst:.1f} ms)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as home:
        os.environ["FTUI_HOME"] = home
        asyncio.run(main())
