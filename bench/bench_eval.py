"""Evaluation throughput, and re-grading from the answer cache, each as whole processes.

1. `ftui eval` against the naive loop a user writes first: load the same model, then for each test
   example generate greedily (transformers `generate`, one example at a time) and grade it with the
   same metric (rapidfuzz's ratio). Runs alternate, the medians of examples per second are compared.
   ftui's side batches the concurrent requests inside the local provider (`--concurrency`).
2. A first `ftui eval` (every answer generated) against a second one with another grader over the
   same answers (all from the cache).

    python bench/bench_eval.py                       # tiny-llama, 32 examples, 32 new tokens
    python bench/bench_eval.py --model smollm2-135m-instruct --examples 24
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ["the", "a", "model", "data", "train", "loss", "token", "batch", "learn", "rate", "step", "epoch"]


def write_test_set(path: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        ask = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(6 + i % 9))
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"Example {i}: repeat after me: {ask}"},
                    {"role": "assistant", "content": ask},
                ]
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def naive(model: str, data: str, max_tokens: int) -> None:
    """The baseline, run as its own process: one example at a time."""
    import torch
    from ftui_local import models
    from rapidfuzz import fuzz

    tok = models.load_tokenizer(model)
    net = models.load_model(model, "cpu")
    scores = []
    with open(data, encoding="utf-8") as fh:
        lines = fh.readlines()
    for line in lines:
        row = json.loads(line)
        prompt, reference = row["messages"][:-1], row["messages"][-1]["content"]
        text = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        ids = tok(text, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = net.generate(
                **ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.pad_token_id
            )
        answer = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        scores.append(fuzz.ratio(answer, reference) / 100)
    print(json.dumps({"n": len(scores), "mean": sum(scores) / len(scores)}))


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-llama")
    parser.add_argument("--examples", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive", nargs=3, metavar=("MODEL", "DATA", "MAX_TOKENS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive:
        naive(args.naive[0], args.naive[1], int(args.naive[2]))
        return

    work = Path(tempfile.mkdtemp(prefix="ftui-bench-eval-"))
    data = write_test_set(work / "test.jsonl", args.examples)
    env = {**os.environ, "FTUI_HOME": str(work / "home"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    ftui = [sys.executable, "-m", "ftui", "eval", "-m", args.model, "-d", str(data), "--max-tokens",
            str(args.max_tokens), "--concurrency", str(args.concurrency), "--json"]  # fmt: skip
    baseline = [sys.executable, __file__, "--naive", args.model, str(data), str(args.max_tokens)]
    # Warm-up: the model's one-time conversion (smollm2) and the OS file cache, for both sides.
    timed([*ftui, "--fresh", "-g", "fuzzy", "--limit", "2"], env)
    timed([*baseline[:-2], str(data), "1"], env)

    ours, theirs = [], []
    for _ in range(args.runs):
        theirs.append(timed(baseline, env))
        ours.append(timed([*ftui, "--fresh", "-g", "fuzzy"], env))
    n = args.examples
    base_rate, our_rate = n / statistics.median(theirs), n / statistics.median(ours)
    print(f"model {args.model}, {n} examples, {args.max_tokens} new tokens, median of {args.runs} runs each")
    t_theirs, t_ours = statistics.median(theirs), statistics.median(ours)
    print(f"naive loop, one example at a time: {base_rate:6.2f} examples/s ({t_theirs:.1f} s)")
    print(f"ftui eval --concurrency {args.concurrency}:        {our_rate:6.2f} examples/s ({t_ours:.1f} s)")
    print(f"throughput ratio: {our_rate / base_rate:.2f}x")

    first, cached = [], []
    for i in range(args.runs):
        home = {**env, "FTUI_HOME": str(work / f"regrade-{i}")}
        first.append(timed([*ftui, "-g", "fuzzy"], home))
        cached.append(timed([*ftui, "-g", "rouge_l", "-g", "exact"], home))
    print(f"first run (generates every answer):    {statistics.median(first):.2f} s")
    print(f"re-grading with other graders (cache): {statistics.median(cached):.2f} s")
    print(f"cached re-grading ratio: {statistics.median(first) / statistics.median(cached):.1f}x faster")


if __name__ == "__main__":
    main()
