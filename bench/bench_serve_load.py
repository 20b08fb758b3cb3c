"""`ftui serve` under load: p50/p99 of `GET /v1/fine_tuning/jobs` with 200 requests in flight, while a
job trains on the same machine, against the same requests with nothing training, in one run.

The server is the real command (`python -m ftui serve`, its own process, a fresh FTUI_HOME) on
127.0.0.1 only; the client is one asyncio process holding 200 connections. Rounds alternate: idle,
training, idle, training, ...: one long tiny-llama job is started for the first training round,
paused (checkpoint saved, worker gone) for each idle round after it, and resumed for the next
training round, which starts once its worker is taking steps again. Everything is bounded: a fixed
number of rounds of a fixed number of requests, each with a timeout.

    python bench/bench_serve_load.py [--concurrency 200] [--rounds 3] [--requests 1000] [--jobs 30]

Prints one line per round, then medians of the per-round p50/p99 for each condition and the
training/idle ratio. Timings are wall clock on a shared machine: read the ratio, not the absolute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"  # loopback only, whatever the arguments


def start_server(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "FTUI_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftui", "serve", "--host", HOST, "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    guard = threading.Timer(120, proc.kill)
    guard.start()
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            if "Uvicorn running on" in line:
                port = int(line.rsplit(":", 1)[1].split()[0])
                return proc, f"http://{HOST}:{port}/v1"
    finally:
        guard.cancel()
    raise SystemExit("ftui serve did not start")


def seed_jobs(url: str, tmp: Path, n: int) -> str:
    """`n` finished jobs to list (too few examples: failed at once, no worker), and a file to train on."""
    import httpx2

    few = tmp / "few.jsonl"
    few.write_text(
        "".join(
            json.dumps(
                {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
            )
            + "\n"
            for i in range(3)
        )
    )
    train = tmp / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"What is {i} plus {i}?"},
                        {"role": "assistant", "content": f"{2 * i}, matey."},
                    ]
                }
            )
            + "\n"
            for i in range(40)
        )
    )
    with httpx2.Client(base_url=url, timeout=60) as http:
        few_id = http.post("/files", data={"purpose": "fine-tune"}, files={"file": few.open("rb")}).json()[
            "id"
        ]
        for _ in range(n):
            http.post("/fine_tuning/jobs", json={"model": "tiny-llama", "training_file": few_id})
        return http.post("/files", data={"purpose": "fine-tune"}, files={"file": train.open("rb")}).json()[
            "id"
        ]


async def round_of(url: str, concurrency: int, requests: int) -> list[float]:
    """Latencies (s) of `requests` GETs, `concurrency` of them in flight at any time."""
    import httpx2

    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    failures = 0
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=120) as http:
        left = iter(range(requests))

        async def worker() -> None:
            nonlocal failures
            for _ in left:
                t = time.perf_counter()
                r = await http.get("/fine_tuning/jobs", params={"limit": 20})
                latencies.append(time.perf_counter() - t)
                failures += r.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise SystemExit(f"{failures} requests failed")
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="per condition")
    parser.add_argument("--jobs", type=int, default=30, help="finished jobs the list holds")
    args = parser.parse_args()

    import httpx2

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        proc, url = start_server(Path(tmp) / "home")
        results: dict[str, list[tuple[float, float]]] = {"idle": [], "training": []}
        job_id = None
        try:
            train_file = seed_jobs(url, Path(tmp), args.jobs)
            asyncio.run(round_of(url, args.concurrency, args.concurrency))  # warm-up, not counted
            order = ["idle", "training"] * args.rounds
            for n, condition in enumerate(order):
                with httpx2.Client(base_url=url, timeout=60) as http:
                    if condition == "training" and job_id is None:
                        job = http.post(
                            "/fine_tuning/jobs",
                            json={
                                "model": "tiny-llama",
                                "training_file": train_file,
                                "hyperparameters": {"n_epochs": 50, "batch_size": 1},
                            },
                        ).json()
                        job_id = job["id"]
                        deadline = time.monotonic() + 300
                        while time.monotonic() < deadline:
                            j = http.get(f"/fine_tuning/jobs/{job_id}").json()
                            events = http.get(
                                f"/fine_tuning/jobs/{job_id}/events", params={"limit": 5}
                            ).json()
                            if j["status"] == "running" and any(
                                e["type"] == "metrics" for e in events["data"]
                            ):
                                break  # its worker is past start-up: training steps are running
                            time.sleep(0.5)
                    if condition == "idle" and job_id is not None:
                        http.post(f"/fine_tuning/jobs/{job_id}/pause")  # checkpoint, then resume below
                        while http.get(f"/fine_tuning/jobs/{job_id}").json()["status"] != "paused":
                            time.sleep(0.5)
                    if condition == "training" and job_id is not None:
                        status = http.get(f"/fine_tuning/jobs/{job_id}").json()["status"]
                        if status == "paused":
                            http.post(f"/fine_tuning/jobs/{job_id}/resume")
                            while True:
                                events = http.get(
                                    f"/fine_tuning/jobs/{job_id}/events", params={"limit": 3}
                                ).json()
                                if events["data"] and events["data"][0]["type"] == "metrics":
                                    break
                                time.sleep(0.5)
                lat = asyncio.run(round_of(url, args.concurrency, args.requests))
                p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
                results[condition].append((p50, p99))
                print(
                    f"round {n + 1} {condition:8s} p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms",
                    flush=True,
                )
        finally:
            if job_id is not None:
                with httpx2.Client(base_url=url, timeout=60) as http:
                    http.post(f"/fine_tuning/jobs/{job_id}/cancel")
            proc.terminate()
            proc.wait(60)
            subprocess.run(
                [sys.executable, "-c", "from ftui_local.jobs import kill_workers; kill_workers()"],
                env={**os.environ, "FTUI_HOME": str(Path(tmp) / "home")},
            )

    def med(condition: str, i: int) -> float:
        return statistics.median(r[i] for r in results[condition]) * 1000

    print(
        f"\nGET /v1/fine_tuning/jobs, {args.concurrency} in flight, {args.requests} per round, "
        f"{args.rounds} rounds each, {args.jobs} jobs listed"
    )
    for condition in ("idle", "training"):
        p50, p99 = med(condition, 0), med(condition, 1)
        print(f"  {condition:8s} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms  (medians of rounds)")
    print(
        f"  training / idle: p50 {med('training', 0) / med('idle', 0):.2f}x   "
        f"p99 {med('training', 1) / med('idle', 1):.2f}x"
    )


if __name__ == "__main__":
    main()
