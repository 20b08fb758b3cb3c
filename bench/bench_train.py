"""Training throughput: ftui's trainer configuration against a tutorial-style transformers Trainer.

Same model (a Llama config with a 32k vocabulary by default, or `--model smollm2-135m-instruct`), same
chat data (examples of varied length, 32 to 512 tokens), same LoRA adapter, batch size and number of
steps. The baseline is what a user writes from a tutorial: `transformers.Trainer` with a collator that
pads every batch to its longest example. ftui's side is `ftui_local.train`'s own trainer builder,
which picks padding-free or length-grouped batches per model.

Throughput counts real (non-padding) tokens per second over the steps after the warm-up ones.

    python bench/bench_train.py            # prints tokens/s for both and `ratio: N.Nx`
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any


def chat_examples(n: int, seed: int) -> list[list[dict[str, str]]]:
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


def build_model(name: str) -> Any:
    import torch
    from ftui_local import models
    from transformers import LlamaConfig, LlamaForCausalLM

    if name != "llama-32k":
        return models.load_model(name, "cpu", trainable=True)
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
    return LlamaForCausalLM(config)


class Clock:
    """Real tokens, wall time and this process's CPU time from the end of the warm-up steps to the last step.
    Tokens per CPU-second moves less than tokens per second when other work loads the machine."""

    def __init__(self, warmup: int) -> None:
        from transformers import TrainerCallback

        clock = self

        class _CB(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
                now, cpu = time.perf_counter(), time.process_time()
                if state.global_step == warmup:
                    clock.t0, clock.cpu0, clock.tok0 = now, cpu, state.num_input_tokens_seen
                clock.t1, clock.cpu1, clock.tok1 = now, cpu, state.num_input_tokens_seen

        self.callback = _CB()
        self.t0 = self.t1 = self.cpu0 = self.cpu1 = 0.0
        self.tok0 = self.tok1 = 0

    @property
    def tokens_per_second(self) -> float:
        return (self.tok1 - self.tok0) / (self.t1 - self.t0)

    @property
    def tokens_per_cpu_second(self) -> float:
        return (self.tok1 - self.tok0) / max(self.cpu1 - self.cpu0, 1e-9)


def lora() -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )


def run_baseline(
    model_name: str, rows: list[dict[str, Any]], bs: int, steps: int, warmup: int, pad_id: int, out: Path
) -> Clock:
    import torch
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import Trainer, TrainingArguments

    def pad_to_longest(batch: list[dict[str, Any]]) -> dict[str, Any]:
        longest = max(len(b["input_ids"]) for b in batch)
        ids = [b["input_ids"] + [pad_id] * (longest - len(b["input_ids"])) for b in batch]
        labels = [b["labels"] + [-100] * (longest - len(b["labels"])) for b in batch]
        mask = [[1] * len(b["input_ids"]) + [0] * (longest - len(b["input_ids"])) for b in batch]
        return {
            "input_ids": torch.tensor(ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask),
        }

    # A tutorial's choices: TrainingArguments' defaults (fp32 on CPU, random sampling), the model's own loss.
    model = get_peft_model(build_model(model_name), lora())
    clock = Clock(warmup)
    args = TrainingArguments(
        output_dir=str(out / "baseline"),
        per_device_train_batch_size=bs,
        max_steps=steps,
        learning_rate=2e-4,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=1000,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        remove_unused_columns=False,
        seed=0,
    )
    data = Dataset.from_list([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])
    Trainer(
        model=model, args=args, train_dataset=data, data_collator=pad_to_longest, callbacks=[clock.callback]
    ).train()
    return clock


def run_ftui(
    model_name: str,
    rows: list[dict[str, Any]],
    tokenizer: Any,
    bs: int,
    steps: int,
    warmup: int,
    out: Path,
    extra: dict[str, Any],
) -> tuple[Clock, str]:
    from ftui_local import train
    from ftui_local.jobdir import JobDir
    from ftui_local.train_callback import StopFlag
    from ftui_local.train_hparams import resolve

    model = build_model(model_name)
    job = JobDir(out / "ftui-job")
    job.path.mkdir(parents=True)
    hp = {"n_epochs": 1, "batch_size": bs, "extra": extra}
    resolved = resolve(
        hp,
        method="supervised",
        n_examples=len(rows),
        context_length=2048,
        vocab_size=model.config.vocab_size,
        on_gpu=False,
    )
    trainer = train._build_trainer(
        job,
        "supervised",
        model,
        tokenizer,
        rows[: bs * steps],
        None,
        resolved,
        0,
        "cpu",
        {"hyperparameters": hp},
        StopFlag(),
        True,
        False,
    )
    trainer.args.save_strategy = "no"
    trainer.args.logging_steps = 1000  # the bench measures; no per-step job events
    clock = Clock(warmup)
    trainer.add_callback(clock.callback)
    trainer.train()
    a = trainer.args
    head = type(trainer).__name__ + (" (labelled-token loss head)" if a.device.type == "cpu" else "")
    chosen = (
        f"batching={resolved.batching}, sampler={a.train_sampling_strategy}, "
        f"{'bf16 autocast' if a.bf16 else 'fp32'}, gradient_checkpointing={a.gradient_checkpointing}, "
        f"LoRA r={resolved.lora_r} all-linear, {head}, attention={model.config._attn_implementation}"
    )
    return clock, chosen


def _load() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    import statistics

    import torch
    from ftui_local import models
    from ftui_local.train_data import encode_chat
    from transformers.utils import logging as hf_logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llama-32k", help="llama-32k (default) or a local model name")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="alternate baseline and ftui this many times; the best run of each is compared",
    )
    parser.add_argument("--batching", default="auto", help="auto, padded, group_by_length or padding_free")
    parser.add_argument("--bf16", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    hf_logging.set_verbosity_error()
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)

    tokenizer = models.load_tokenizer("tiny-llama" if args.model == "llama-32k" else args.model)
    chats = chat_examples(args.batch_size * args.steps, seed=0)
    rows = []
    for messages in chats:
        enc = encode_chat(tokenizer, messages)
        rows.append({**enc, "length": len(enc["input_ids"])})
    lengths = sorted(r["length"] for r in rows)
    extra: dict[str, Any] = {"batching": args.batching}
    if args.bf16 != "auto":
        extra["bf16"] = args.bf16 == "on"
    print(
        f"model {args.model}, {len(rows)} chat examples, tokens min/median/max "
        f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}, batch {args.batch_size}, "
        f"{args.steps} steps ({args.warmup} warm-up), {args.repeats} repeat(s), "
        f"torch threads {torch.get_num_threads()}, load {_load()}",
        flush=True,
    )
    base_runs: list[Clock] = []
    ftui_runs: list[Clock] = []
    chosen = ""
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            if not args.skip_baseline:
                c = run_baseline(
                    args.model,
                    rows,
                    args.batch_size,
                    args.steps,
                    args.warmup,
                    tokenizer.pad_token_id,
                    Path(tmp) / f"b{r}",
                )
                base_runs.append(c)
                print(
                    f"  run {r + 1} baseline: {c.tokens_per_second:8,.0f} tokens/s "
                    f"{c.tokens_per_cpu_second:8,.0f} tokens/CPU-s   (load {_load()})",
                    flush=True,
                )
            c, chosen = run_ftui(
                args.model,
                rows,
                tokenizer,
                args.batch_size,
                args.steps,
                args.warmup,
                Path(tmp) / f"f{r}",
                extra,
            )
            ftui_runs.append(c)
            print(
                f"  run {r + 1} ftui:     {c.tokens_per_second:8,.0f} tokens/s "
                f"{c.tokens_per_cpu_second:8,.0f} tokens/CPU-s   (load {_load()})",
                flush=True,
            )

    def best(runs: list[Clock]) -> tuple[float, float]:
        return (max(c.tokens_per_second for c in runs), max(c.tokens_per_cpu_second for c in runs))

    print(f"ftui configuration: {chosen}")
    print(
        "baseline configuration: transformers Trainer, TrainingArguments defaults (fp32, random sampling), "
        "pad every batch to its longest example, the model's own loss, same LoRA"
    )
    f_wall, f_cpu = best(ftui_runs)
    print(
        f"ftui:     {f_wall:,.0f} tokens/s, {f_cpu:,.0f} tokens/CPU-s (best of {len(ftui_runs)}; "
        f"median {statistics.median(c.tokens_per_second for c in ftui_runs):,.0f} tokens/s)"
    )
    if base_runs:
        b_wall, b_cpu = best(base_runs)
        print(
            f"baseline: {b_wall:,.0f} tokens/s, {b_cpu:,.0f} tokens/CPU-s (best of {len(base_runs)}; "
            f"median {statistics.median(c.tokens_per_second for c in base_runs):,.0f} tokens/s)"
        )
        print(f"ratio (CPU time): {f_cpu / b_cpu:.1f}x")
        print(f"ratio: {f_wall / b_wall:.1f}x")
    print(
        "GPU: not measured (no GPU lent to this run)"
        if not torch.cuda.is_available()
        else "GPU: present, but this bench measures the CPU path"
    )


if __name__ == "__main__":
    main()
