"""Event-loop stalls while the Datasets pane validates: in a thread (the baseline) vs the helper process.

    python bench/bench_tui_validate.py [--mb 40]

Each case runs in a fresh interpreter, as a TUI session's first validation does (the vocabulary is
not loaded yet). An asyncio loop ticks every 5 ms while a thread validates the file, either itself
(`validate_path`, what the pane did before) or through `ftui.data.validate_process`; the longest gap
between ticks is how long the screen would freeze. Prints both, their ratio, and the wall times
(and the helper's next validation: it stays running).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import asyncio, json, sys, threading, time
from pathlib import Path
import ftui.data.report  # loaded by the TUI long before a validation

def main(mode, path):
    if mode == "thread":
        from ftui.data.validate import validate_path as run
    else:
        from ftui.data.validate_process import shared
        run = shared().validate
    async def measure():
        done = threading.Event()
        t0 = time.perf_counter()
        def work():
            run(Path(path))
            done.set()
        threading.Thread(target=work, daemon=True).start()
        gaps, last = [], time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        gaps.sort()
        return {"seconds": time.perf_counter() - t0, "max_gap_ms": gaps[-1] * 1e3,
                "p99_gap_ms": gaps[int(len(gaps) * 0.99)] * 1e3}
    first = asyncio.run(measure())
    first["again_seconds"] = asyncio.run(measure())["seconds"]  # a second file, helper already running
    print(json.dumps(first))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
"""


def _measure(mode: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_validate import generate

    from ftui.data.samples import sample_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=40.0, help="size of the generated file in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "chat.jsonl"
        generate(big, args.mb)
        for label, path in (("60-line sample", sample_path()), (f"{args.mb:.0f} MB chat file", big)):
            thread, helper = _measure("thread", path), _measure("process", path)
            t, h = thread, helper
            print(
                f"{label}: longest event-loop stall {t['max_gap_ms']:.0f} ms in a thread (p99 "
                f"{t['p99_gap_ms']:.0f} ms, done in {t['seconds']:.2f} s), "
                f"{h['max_gap_ms']:.0f} ms with the helper process (p99 {h['p99_gap_ms']:.0f} ms, "
                f"done in {h['seconds']:.2f} s, {h['again_seconds']:.2f} s the next time); "
                f"ratio {t['max_gap_ms'] / h['max_gap_ms']:.1f}x"
            )


if __name__ == "__main__":
    main()
