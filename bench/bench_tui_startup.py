"""Time from `ftui` start to the first painted frame, against a bare Textual app with four tabs.

Both run headless in a fresh interpreter, the same number of times, alternating; we report medians.
Target: ftui within 1.2x of the bare app (no torch, transformers, boto3 or azure on that path).

    python bench/bench_tui_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "boto3", "azure", "openai", "fastapi")

# The real `ftui` entry point (the console script `ftui.launch:main` with no arguments), made to run
# headless and to exit right after its first frame is painted.
# Both children stamp the wall clock and the process CPU time when Textual hands its first frame to
# the driver (headless drivers drop it, but it has been laid out and rendered by then), then exit.
# CPU time is steadier than wall time on a shared machine; the target is on wall time.
# They also say which of the libraries the first frame should not wait for were loaded by then.
DEFERRED = ("pydantic", "pluggy", "click", "ftui.session", "ftui.plugins")
FIRST_FRAME = f"""
import sys, time
import textual.app
_display = textual.app.App._display
def _stamp(self, screen, renderable):
    if renderable is not None and not getattr(textual.app, "_ftui_bench_stamped", False):
        textual.app._ftui_bench_stamped = True
        print("first-frame:", repr(time.time()), file=sys.stderr, flush=True)
        print("first-frame-cpu:", repr(time.process_time()), file=sys.stderr, flush=True)
        loaded = [n for n in {DEFERRED!r} if n in sys.modules]
        print("first-frame-loaded:", ",".join(loaded) or "none", file=sys.stderr, flush=True)
    return _display(self, screen, renderable)
textual.app.App._display = _stamp
"""

FTUI_CHILD = (
    FIRST_FRAME
    + f"""
import ftui.tui.app as m
mount = m.FtuiApp.on_mount
def on_mount(self):
    mount(self)
    self.call_after_refresh(self.exit)
m.FtuiApp.on_mount = on_mount
run = m.FtuiApp.run
m.FtuiApp.run = lambda self, **kw: run(self, headless=True)
from ftui.launch import main
sys.argv = ["ftui"]
try:
    main()
finally:
    heavy = [n for n in {HEAVY!r} if n in sys.modules]
    print("heavy:", ",".join(heavy) or "none", file=sys.stderr)
"""
)

BARE_CHILD = (
    FIRST_FRAME
    + """
from textual.app import App
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

class Bare(App):
    def compose(self):
        yield Header()
        with TabbedContent(initial="jobs"):
            for name in ("datasets", "jobs", "metrics", "playground"):
                with TabPane(name.title(), id=name):
                    yield DataTable() if name == "jobs" else Static(name)
        yield Footer()

    def on_mount(self):
        self.call_after_refresh(self.exit)

Bare().run(headless=True)
"""
)


def value(stderr: str, key: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in stderr.splitlines() if line.startswith(key + ":"))


def run_once(code: str, env: dict[str, str]) -> tuple[float, str]:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr}")
    stamps = [
        float(line.split(":", 1)[1]) for line in out.stderr.splitlines() if line.startswith("first-frame:")
    ]
    if not stamps:
        raise SystemExit(f"child painted no frame:\n{out.stderr}")
    return stamps[0] - start, out.stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        # Both children read compiled bytecode, as an installed ftui does (pip compiles it): a
        # PYTHONDONTWRITEBYTECODE in this shell would otherwise leave ftui's own modules (an
        # editable install) compiled from source on every start while textual's are cached.
        env = {**os.environ, "FTUI_HOME": home, "PYTHONPYCACHEPREFIX": os.path.join(home, "pycache")}
        env.pop("FTUI_CONFIG", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        run_once(FTUI_CHILD, env)  # warm the OS file cache and the bytecode for both
        run_once(BARE_CHILD, env)
        ftui_times, bare_times, ftui_cpu, bare_cpu, heavy, early = [], [], [], [], set(), set()
        for _ in range(args.runs):
            elapsed, err = run_once(FTUI_CHILD, env)
            ftui_times.append(elapsed)
            ftui_cpu.append(float(value(err, "first-frame-cpu")))
            heavy.add(value(err, "heavy"))
            early.add(value(err, "first-frame-loaded"))
            elapsed, err = run_once(BARE_CHILD, env)
            bare_times.append(elapsed)
            bare_cpu.append(float(value(err, "first-frame-cpu")))
    ftui_s, bare_s = statistics.median(ftui_times), statistics.median(bare_times)
    ftui_c, bare_c = statistics.median(ftui_cpu), statistics.median(bare_cpu)
    print(f"runs: {args.runs} each, headless, median from process spawn to first frame (wall; CPU)")
    print(f"bare Textual app, four tabs: {bare_s:.3f} s; cpu {bare_c:.3f} s")
    print(f"ftui:                        {ftui_s:.3f} s; cpu {ftui_c:.3f} s")
    print(f"cpu ratio: {ftui_c / bare_c:.2f}x")
    print(f"heavy modules imported by ftui: {', '.join(sorted(heavy))}")
    print(f"loaded by ftui's first frame (should be none): {', '.join(sorted(early))}")
    print(f"ratio: {ftui_s / bare_s:.2f}x  (target <= 1.20x)")


if __name__ == "__main__":
    main()
