"""Training throughput as users get it: `ftui jobs create --wait` against the scripts they would write.

Three sides, each run as a whole process on the same model folder, the same chat file, the same LoRA
adapter (r 16, alpha 32, dropout 0.05, all linear layers), batch size and epochs:

- ftui: `ftui jobs create --model M --training-file F --epochs E --batch-size B --wait --json`, from
  the command's start to its exit: validation, the detached worker, model load, training, the
  epoch checkpoint and the adapter. Its trainer picks its own batching, precision and loss head.
- trl: `bench/train_baseline_sft.py`, trl's SFTTrainer in its documented fast setup (bf16,
  padding_free=True, no gradient checkpointing), saving the adapter.
- transformers: `bench/train_baseline_trainer.py`, the tutorial Trainer (fp32, padded batches).
- trl-fp32 (only if asked for with --sides): the trl script without bf16, which on a CPU with no
  bf16 units (no AMX, no AVX512-BF16) is what a trl user ends up picking.

The sides run in turn, in a rotating order, for several rounds; the medians of the wall times give
the ratios (same work on every side, so time is the measure). Tokens per second are printed beside,
from each side's own count of non-padding tokens, as is each side's training-loop-only figure (from
inside the process; never the headline). The load average is printed with every run: on a shared
machine, read the ratios next to it.

    python bench/bench_train.py                                  # llama-32k: a 32k-vocabulary Llama
    python bench/bench_train.py --model smollm2-135m-instruct    # the starter model
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def chat_examples(n: int, seed: int) -> list[list[dict[str, str]]]:
    """Chats of varied length (about 32 to 512 characters), word salad from a fixed seed."""
    rng = random.Random(seed)
    words = [
        "the",
        "a",
        "model",
        "data",
        "train",
        "loss",
        "token",
        "batch",
        "learn",
        "rate",
        "step",
        "epoch",
        "adapter",
        "chat",
        "reply",
    ]

    def text(n_chars: int) -> str:
        out: list[str] = []
        while sum(len(w) + 1 for w in out) < n_chars:
            out.append(rng.choice(words))
        return " ".join(out)

    rows = []
    for _ in range(n):
        total = rng.randint(32, 512)
        ask = rng.randint(8, max(9, total // 2))
        rows.append(
            [
                {"role": "user", "content": text(ask)},
                {"role": "assistant", "content": text(max(4, total - ask - 30))},
            ]
        )
    return rows


def model_folder(name: str, tmp: Path, home: Path) -> tuple[Path, str]:
    """(the folder every side loads, the name ftui is given). smollm2 is converted once (untimed),
    into the user's own cache, and linked into the bench's FTUI_HOME."""
    from ftui_local import models

    if name == "llama-32k":
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        folder = tmp / "llama-32k"
        config = LlamaConfig(
            vocab_size=32000,
            hidden_size=256,
            intermediate_size=688,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=4,
            max_position_embeddings=2048,
            tie_word_embeddings=False,
        )
        torch.manual_seed(0)
        LlamaForCausalLM(config).save_pretrained(folder)
        models.load_tokenizer(models.TINY_LLAMA).save_pretrained(folder)  # byte-level, ids < 300
        return folder, str(folder)
    if name != models.SMOLLM2:
        raise SystemExit(f"--model: llama-32k or {models.SMOLLM2}")
    source = models.ensure_smollm2()
    os.environ["FTUI_HOME"] = str(home)  # where the sides look; linked, not converted again
    linked = models.smollm2_cache_dir()
    linked.parent.mkdir(parents=True, exist_ok=True)
    linked.symlink_to(source, target_is_directory=True)
    return source, name


def adopt_orphans() -> None:
    """Linux: become the parent of every process a side leaves behind (ftui's detached worker),
    so it can be waited for and its CPU time counted with the side's."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap() -> None:
    """Wait for every child left (the worker finishes scheduling, then exits)."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "n/a"


@dataclass
class Side:
    name: str
    label: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    loop_tps: list[float] = field(default_factory=list)

    def command(
        self, a: argparse.Namespace, model: Path, ftui_model: str, data: Path, out: Path
    ) -> list[str]:
        if self.name == "ftui":
            return [
                sys.executable,
                "-m",
                "ftui",
                "jobs",
                "create",
                "--model",
                ftui_model,
                "--training-file",
                str(data),
                "--epochs",
                str(a.epochs),
                "--batch-size",
                str(a.batch_size),
                "--seed",
                "0",
                "--wait",
                "--json",
            ]
        script = BENCH / (
            "train_baseline_trainer.py" if self.name == "transformers" else "train_baseline_sft.py"
        )
        return [
            sys.executable,
            str(script),
            str(model),
            str(data),
            str(out),
            "--batch-size",
            str(a.batch_size),
            "--epochs",
            str(a.epochs),
            *(["--fp32"] if self.name == "trl-fp32" else []),
        ]

    def read(self, stdout: str, home: Path) -> tuple[int, float | None]:
        """(tokens trained, the training loop's tokens/s) from the side's own output."""
        if self.name != "ftui":
            line = next(x for x in stdout.splitlines() if x.startswith("BENCH "))
            got = json.loads(line[len("BENCH ") :])
            return int(got["tokens"]), got["tokens"] / got["train_seconds"]
        job = json.loads(stdout[stdout.index("{") :])
        if job["status"] != "succeeded":
            raise SystemExit(f"ftui's job ended {job['status']}: {job.get('error')}")
        # The Trainer's own summary line in the worker's log: train() alone, as the baselines report it.
        log = (home / "data" / "local" / "jobs" / job["id"] / "worker.log").read_text(errors="replace")
        found = re.findall(r"'train_runtime': '([0-9.]+)', 'train_samples_per_second'", log)
        tokens = int(job["trained_tokens"])
        return tokens, tokens / float(found[-1]) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llama-32k", help="llama-32k (default) or smollm2-135m-instruct")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="each side runs once per round, in turn")
    parser.add_argument(
        "--threads",
        type=int,
        help="OMP_NUM_THREADS for every side (default: unset, each uses every core). On a machine "
        "others load, 1 keeps each side's CPU time steady: busy-waiting threads inflate it",
    )
    parser.add_argument(
        "--sides", default="ftui,trl,transformers", help="comma-separated, of ftui,trl,trl-fp32,transformers"
    )
    a = parser.parse_args()
    sides = [
        Side(n, label)
        for n, label in (
            ("ftui", "ftui jobs create --wait"),
            ("trl", "trl SFTTrainer (bf16, padding_free, no gradient checkpointing)"),
            ("trl-fp32", "trl SFTTrainer as above but fp32 (for a CPU without bf16 units)"),
            ("transformers", "transformers Trainer tutorial (fp32, padded batches)"),
        )
        if n in a.sides.split(",")
    ]
    if not sides or sides[0].name != "ftui":
        raise SystemExit("--sides must include ftui")

    adopt_orphans()
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "ftui-home"
        model, ftui_model = model_folder(a.model, tmp, home)
        env = {
            **os.environ,
            "FTUI_HOME": str(home),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_DATASETS_CACHE": str(tmp / "hf-datasets"),
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONWARNINGS": "ignore",
        }
        if a.threads:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(a.threads)
        data = tmp / "chats.jsonl"
        with data.open("w", encoding="utf-8") as fh:
            for chat in chat_examples(a.examples, seed=0):
                fh.write(json.dumps({"messages": chat}) + "\n")
        steps = -(-a.examples // a.batch_size) * a.epochs
        import torch
        from ftui_local.models import cpu_has_bf16

        print(
            f"model {a.model}, {a.examples} chat examples, batch {a.batch_size}, {a.epochs} epoch(s) "
            f"({steps} steps), {a.rounds} rounds in rotating order, {os.cpu_count()} CPUs, "
            f"threads {a.threads or torch.get_num_threads()}, "
            f"CPU bf16 units {'yes' if cpu_has_bf16() else 'no'}, load {load()}",
            flush=True,
        )
        # Untimed: bring the libraries into the page cache, so the first side timed pays no more.
        subprocess.run([sys.executable, "-c", "import torch, transformers, trl, peft, datasets"], env=env)

        for r in range(a.rounds):
            order = sides[r % len(sides) :] + sides[: r % len(sides)]
            for side in order:
                out = tmp / f"{side.name}-{r}"
                cmd = side.command(a, model, ftui_model, data, out)
                before, cpu0 = load(), children_cpu()
                t0 = time.perf_counter()
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
                wall = time.perf_counter() - t0
                reap()
                cpu = children_cpu() - cpu0
                if done.returncode != 0:
                    raise SystemExit(f"{side.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
                tokens, loop = side.read(done.stdout, home)
                side.walls.append(wall)
                side.cpus.append(cpu)
                side.tokens.append(tokens)
                if loop:
                    side.loop_tps.append(loop)
                print(
                    f"  round {r + 1} {side.name:<12} {wall:7.1f} s  {cpu:7.1f} CPU-s  "
                    f"{tokens / wall:6.0f} tokens/s  (training loop {loop or 0:6.0f} tokens/s)  "
                    f"load {before} -> {load()}",
                    flush=True,
                )

    print(f"\nwhole process, median of {a.rounds} runs (load now {load()}):")
    for side in sides:
        wall, cpu = statistics.median(side.walls), statistics.median(side.cpus)
        tokens = statistics.median(side.tokens)
        loop = f", training loop {statistics.median(side.loop_tps):,.0f} tokens/s" if side.loop_tps else ""
        print(
            f"  {side.label}: {wall:.1f} s wall, {cpu:.1f} CPU-s, {tokens / wall:,.0f} tokens/s "
            f"({tokens:,.0f} tokens){loop}"
        )
    ftui = sides[0]
    for side in sides[1:]:
        ratio = statistics.median(side.walls) / statistics.median(ftui.walls)
        by_cpu = statistics.median(side.cpus) / statistics.median(ftui.cpus)
        loop = ""
        if side.loop_tps and ftui.loop_tps:
            alone = statistics.median(ftui.loop_tps) / statistics.median(side.loop_tps)
            loop = f", training loop alone {alone:.1f}x"
        print(f"ratio vs {side.label}: {ratio:.2f}x (CPU time {by_cpu:.2f}x{loop})")
    print(
        "GPU: not measured (no GPU lent to this run)"
        if not torch.cuda.is_available()
        else "GPU: present; the sides ran on it"
    )


if __name__ == "__main__":
    main()
