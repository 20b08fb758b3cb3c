"""Dataset validation as users run it: `ftui data validate` against the cookbook's script, whole processes.

    python bench/bench_validate.py [--mb 30] [--runs 5] [--shape long|short|both] [--in-process]

Generates two chat JSONL shapes of --mb MB each:
  long   what this benchmark always generated: shared system prompts with policies, 1-3 turns of
         paragraphs of real English and code (`--unique` makes every string distinct);
  short  many short chat turns: one to four sentences per message, about 4,000 messages per MB.
Then, per shape, alternates whole-process runs of
  baseline  `python bench/cookbook_validate.py FILE`: OpenAI's data-prep notebook as a script
            (tiktoken cl100k_base, offline copy);
  ftui      `ftui data validate FILE --json --model gpt-3.5-turbo` (exact cl100k_base counts, so the
            two token totals must be equal).
Each run's wall time is from spawn to exit; CPU time and peak RSS are the process tree's (wait4).
Prints medians, the ratio of the medians, every run, the machine's load before and after, and
ftui's peak RSS on a file a quarter the size (memory must not grow with the file). `--in-process`
adds `validate_path` in a warm interpreter beside it (not what users get).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "gpt-3.5-turbo"  # cl100k_base, the notebook's encoding

# System prompts of the lengths seen in real fine-tuning sets: one short, three with policies.
_POLICY = (
    " Follow these rules. Answer in the customer's language. Never share another customer's data."
    " If an order number is missing, ask for it before anything else. Refunds: only within 30 days"
    " of delivery, only to the original payment method, and only after the item is scanned back at"
    " the warehouse. Escalate to a human agent when the customer mentions a legal claim, a safety"
    " problem or a payment taken twice. Keep answers under 120 words, use plain sentences, no"
    " markdown tables. Sign off with the store's name."
)
SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a customer-support agent for an online bookshop." + _POLICY,
    "You are a customer-support agent for a shoe store." + _POLICY + " Offer the size guide when asked"
    " about fit.",
    "You are a senior Python reviewer. Point out bugs first, then style, in short bullet points. Quote"
    " the line you mean. Prefer the standard library. Flag mutable default arguments, bare excepts,"
    " shadowed built-ins, and anything that blocks an event loop.",
]
SHORT_SYSTEM = ["You are a helpful assistant.", "You are a friendly support agent. Be brief."]


def _paragraphs() -> list[str]:
    # Real English and code, from the interpreter's own library: varied text, no download.
    import glob

    paras: list[str] = []
    for name in sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))[:300]:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        paras.extend(p for p in text.split("\n\n") if 40 < len(p) < 1200)
    return paras


def _sentences(paras: list[str]) -> list[str]:
    out = []
    for p in paras:
        for s in " ".join(p.split()).split(". "):
            if 15 < len(s) < 160:
                out.append(s.rstrip(".") + ".")
    return out


def generate(path: Path, mb: float, seed: int = 0, unique: bool = False, shape: str = "long") -> int:
    """Write the file; returns its number of messages."""
    rng = random.Random(seed)
    paras = _paragraphs()
    sentences = _sentences(paras) if shape == "short" else []
    target = int(mb * 1_000_000)
    written = n_messages = 0
    with path.open("w", encoding="utf-8") as fh:
        i = 0
        while written < target:
            if shape == "short":
                messages = [{"role": "system", "content": rng.choice(SHORT_SYSTEM)}] if i % 3 == 0 else []
                for _ in range(rng.randint(1, 3)):
                    user = " ".join(rng.choices(sentences, k=rng.randint(1, 3)))
                    reply = " ".join(rng.choices(sentences, k=rng.randint(2, 4)))
                    messages.append({"role": "user", "content": f"{user} (#{i})"})
                    messages.append({"role": "assistant", "content": reply})
                    i += 1
            else:
                system = rng.choice(SYSTEM_PROMPTS) + (f" (session {i})" if unique else "")
                messages = [{"role": "system", "content": system}]
                for _ in range(rng.randint(1, 3)):
                    # Two paragraphs and a counter: every user/assistant text is distinct.
                    messages.append({"role": "user", "content": f"{rng.choice(paras)}\n\n(#{i})"})
                    messages.append(
                        {"role": "assistant", "content": f"{rng.choice(paras)}\n{rng.choice(paras)}"}
                    )
                    i += 1
            line = json.dumps({"messages": messages}) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            n_messages += len(messages)
    return n_messages


def _ftui_command(path: Path, model: str | None = MODEL) -> list[str]:
    # The console script installed beside this interpreter: what a user's shell runs.
    exe = Path(sys.executable).with_name("ftui")
    launcher = str(exe) if exe.exists() else shutil.which("ftui")
    if launcher is None:
        sys.exit("ftui is not installed in this environment (pip install -e .)")
    return [launcher, "data", "validate", str(path), "--json", *(["--model", model] if model else [])]


def _baseline_command(path: Path) -> list[str]:
    return [sys.executable, str(HERE / "cookbook_validate.py"), str(path)]


def run_process(cmd: list[str]) -> dict:
    """One whole-process run: wall time from spawn to exit, the tree's CPU time and peak RSS."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        out.seek(0)
        text = out.read().decode()
    if proc.returncode not in (0, 1):  # 1: `ftui data validate` found the file not valid
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err}")
    body = json.loads(text)
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux: the largest process of the tree
        "body": body,
    }


def _tokens(phase: str, body: dict) -> int:
    return body["tokens"] if phase == "baseline" else body["tokens"]["total"]


def _in_process(path: Path) -> float:
    code = (
        "import sys, time; from pathlib import Path; from ftui.data.validate import validate_path;"
        f"validate_path(Path(sys.argv[1]), model={MODEL!r}); t = time.perf_counter();"
        f"validate_path(Path(sys.argv[1]), model={MODEL!r}); print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_shape(shape: str, args: argparse.Namespace, folder: Path) -> dict:
    big, small = folder / f"{shape}.jsonl", folder / f"{shape}_quarter.jsonl"
    n_messages = generate(big, args.mb, unique=args.unique, shape=shape)
    generate(small, args.mb / 4, seed=1, unique=args.unique, shape=shape)
    size_mb = big.stat().st_size / 1e6
    commands = {"baseline": _baseline_command(big), "ftui": _ftui_command(big)}
    if args.default_model:
        commands["ftui-o200k"] = _ftui_command(big, None)
    runs: dict[str, list[dict]] = {phase: [] for phase in commands}
    load_before = _load()
    run_process(commands["ftui"])  # page cache and .pyc files warm for both, as on a user's machine
    phases = list(commands)
    for i in range(args.runs):
        # Alternating, each round starting one further along: a load that drifts hits all alike.
        for phase in phases[i % len(phases) :] + phases[: i % len(phases)]:
            runs[phase].append(run_process(commands[phase]))
    quarter = run_process(_ftui_command(small))
    load_after = _load()
    in_process = _in_process(big) if args.in_process else None
    med = {p: statistics.median(r["seconds"] for r in rs) for p, rs in runs.items()}
    cpu = {p: statistics.median(r["cpu_seconds"] for r in rs) for p, rs in runs.items()}
    rss = {p: max(r["peak_rss_mb"] for r in rs) for p, rs in runs.items()}
    tokens = {p: _tokens(p, rs[0]["body"]) for p, rs in runs.items()}
    examples = runs["ftui"][0]["body"]["examples"]
    print(
        f"\n== {shape}: {size_mb:.1f} MB, {examples:,} examples, {n_messages:,} messages"
        f"{' (every string distinct)' if args.unique and shape == 'long' else ''}; "
        f"load average (1/5/15 min) {load_before} before, {load_after} after"
    )
    for phase, cmd in commands.items():
        shown = " ".join(cmd[1:]) if phase == "baseline" else "ftui " + " ".join(cmd[1:])
        print(f"  {phase + ':':<11} {shown}")
    for phase in runs:
        walls = ", ".join(f"{r['seconds']:.2f}" for r in runs[phase])
        print(
            f"  {phase:<10}  median {med[phase]:.2f} s ({size_mb / med[phase]:.1f} MB/s)  "
            f"CPU {cpu[phase]:.2f} s  peak RSS {rss[phase]:.0f} MB  tokens {tokens[phase]:,}  runs: {walls}"
        )
    ratio = med["baseline"] / med["ftui"]
    for phase in phases[1:]:
        pair_ratios = sorted(
            b["seconds"] / f["seconds"] for b, f in zip(runs["baseline"], runs[phase], strict=True)
        )
        print(
            f"  {phase}: ratio of medians {med['baseline'] / med[phase]:.1f}x  (per round: "
            f"{', '.join(f'{r:.1f}' for r in pair_ratios)}; by CPU time {cpu['baseline'] / cpu[phase]:.1f}x)"
        )
    print(
        f"  token totals equal: {tokens['baseline'] == tokens['ftui']}; ftui peak RSS "
        f"{quarter['peak_rss_mb']:.0f} MB on {size_mb / 4:.1f} MB, {rss['ftui']:.0f} MB on {size_mb:.1f} MB"
    )
    if in_process is not None:
        print(
            f"  in-process (validate_path, warm interpreter, not what users run): {in_process:.2f} s, "
            f"{med['baseline'] / in_process:.1f}x the baseline's whole process"
        )
    return {"shape": shape, "ratio": ratio, "medians": med}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=30.0, help="size of each generated file in MB")
    parser.add_argument("--runs", type=int, default=5, help="runs of each, alternating; medians kept")
    parser.add_argument("--shape", choices=["long", "short", "both"], default="both")
    parser.add_argument("--unique", action="store_true", help="long shape: every system prompt distinct too")
    parser.add_argument("--in-process", action="store_true", help="also time validate_path in-process")
    parser.add_argument(
        "--default-model",
        action="store_true",
        help="also time `ftui data validate FILE --json` with no --model (o200k_base: other totals)",
    )
    parser.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ftui-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPU cores; {args.runs} alternating whole-process runs of each")
    try:
        shapes = ["long", "short"] if args.shape == "both" else [args.shape]
        results = [bench_shape(shape, args, folder) for shape in shapes]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n" + "; ".join(f"{r['shape']}: {r['ratio']:.1f}x" for r in results))


if __name__ == "__main__":
    main()
