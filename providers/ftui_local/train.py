"""The training entry script: one job folder in, a LoRA adapter out. Shared by the local worker and SageMaker.

    python -m ftui_local.train --job-dir DIR

trains the job that `DIR/spec.json` describes (see `ftui_local.jobdir`). On SageMaker the container
runs `ftui_sagemaker.entry`, which builds the job folder from SageMaker's environment and calls
`run()` here: the very same training code.

Spec fields beyond the job itself: `checkpoints_dir` (where the trainer saves and resumes; default
the job folder's `checkpoints/`; SageMaker's `/opt/ml/checkpoints`, synced to S3), `on_sigterm`
("pause": a SIGTERM saves a resumable checkpoint first, as a spot interruption needs; default: cancel).
`hyperparameters.extra.save_steps` saves every N steps instead of every epoch.

Each logging step prints one line `FTUI_METRICS {json}` with step, total_steps, epoch, train_loss,
train_mean_token_accuracy, valid_loss, valid_mean_token_accuracy, learning_rate, tokens_per_second:
the local tailer and SageMaker metric definitions both read it.

Training uses trl's SFTTrainer / DPOTrainer with a peft LoRA adapter. CPU defaults that measured well:
no gradient checkpointing; fp32 unless the CPU has AMX/AVX512-BF16 and the model is big enough for
bf16 to pay, and then bf16 autocast with frozen base weights stored in bf16 (LoRA weights stay fp32);
padding-free batches with large vocabularies and length-grouped batches with small ones
(`train_hparams.choose_batching`); LoRA dropout drawn as geometric gaps (`train_dropout`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import math
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.errors import FtuiError
from ftui_local.jobdir import JobDir, utcnow

if TYPE_CHECKING:
    from transformers import Trainer

    from ftui_local.train_callback import JobCallback

# Statuses the worker may move a job from. A job cancelled by the manager (`jobs.JobManager.cancel`)
# is in none of the sets that lead anywhere else: once cancelled, it never ends any other way.
STARTABLE = frozenset({None, "queued", "validating_files", "running", "paused", "failed"})
ACTIVE = frozenset({None, "queued", "validating_files", "running"})
RUNNING = frozenset({"running"})
RESULT_COLUMNS = ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
# Below this many parameters bf16 autocast on CPU costs more than it saves (measured on tiny models).
BF16_CPU_MIN_PARAMS = 100_000_000


class Diverged(FtuiError):
    """The loss or its gradients went NaN or infinite: the job fails and publishes nothing."""

    code = "training_diverged"

    def __init__(self, step: int | None, resolved: Any) -> None:
        where = f"at step {step}" if step else "during training"
        super().__init__(
            f"training diverged {where}: the loss or its gradients became NaN or infinite "
            f"(learning rate {resolved.learning_rate:.2g}, learning_rate_multiplier "
            f"{resolved.learning_rate_multiplier:g}); no model was published. Lower "
            "learning_rate_multiplier, or check the training data"
        )


def _never_publish_a_broken_model(trainer: Any, callback: Any, resolved: Any) -> None:
    """Diverged (NaN or infinite gradients on the way, or weights that ended up so): fail."""
    from ftui_local.train_callback import trainable_finite

    if callback.outcome == "diverged" or (callback.outcome is None and not trainable_finite(trainer.model)):
        raise Diverged(callback.diverged_at or trainer.state.global_step, resolved)


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


# ---- the run ----------------------------------------------------------------------------------


def run(job_dir: Path) -> int:
    """Train the job in `job_dir`; 0 on success (also after a requested pause or cancel), 1 on failure."""
    from ftui_local.train_callback import StopFlag

    job = JobDir(Path(job_dir))
    is_main = _is_main()
    stop = StopFlag()
    previous = _install_sigterm(stop, job)
    try:
        return _run(job, stop, is_main)
    except BaseException as exc:  # every failure must end as a readable job state
        if isinstance(exc, KeyboardInterrupt | SystemExit) and stop.value == "cancel":
            if is_main:
                _finish_cancelled(job)
            return 0
        with contextlib.suppress(OSError):  # worker.log is on the same full disk, maybe
            traceback.print_exc()
            sys.stdout.flush()
        code, message = _classify(exc, job)
        if is_main:
            if code == "disk_full":
                _drop_partial_checkpoints(job.checkpoints_dir)  # never resumable, and room back
            job.last_words(code, message, event=f"Fine-tuning job failed: {message}", expect=ACTIVE)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _install_sigterm(stop: Any, job: JobDir) -> Any:
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    on_sigterm = job.read_spec().get("on_sigterm")

    def handler(signum: int, frame: Any) -> None:
        if stop.value is not None:  # a second SIGTERM: stop now, even mid-step
            raise KeyboardInterrupt
        stop.value = "pause" if "pause" in (job.control(), on_sigterm) else "cancel"

    return signal.signal(signal.SIGTERM, handler)


def _classify(exc: BaseException, job: JobDir | None = None) -> tuple[str, str]:
    from ftui import disk

    full = disk.describe(exc, job.path if job else None)
    if full is None and job is not None and not isinstance(exc, FtuiError):
        # torch.save reports a full disk as a RuntimeError ("iostream error"): no room left where
        # the job writes is the reason whatever the exception says.
        free = disk.free_bytes(job.path)
        if free is not None and free < disk.NEARLY_FULL:
            full = disk.describe(OSError(errno.ENOSPC, "No space left on device", str(job.path)))
    if full:
        resume = f" `ftui jobs resume {job.job_id}` continues from the last checkpoint." if job else ""
        return "disk_full", f"{full}.{resume}"
    if isinstance(exc, FtuiError):
        return getattr(exc, "code", None) or "invalid_request", str(exc).splitlines()[0]
    text = str(exc)
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return "out_of_memory", "ran out of memory; lower batch_size or hyperparameters.extra.max_length"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return "training_error", f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _finish_cancelled(job: JobDir) -> None:
    if job.transition(ACTIVE | {"paused"}, status="cancelled", finished_at=utcnow()):
        job.append_event("Fine-tuning job cancelled")
    job.clear_control()


def _drop_partial_checkpoints(folder: Path) -> None:
    """Checkpoint folders a failed save left without their trainer state: never resumable."""
    for d in folder.glob("checkpoint-*") if folder.is_dir() else ():
        if not (d / "trainer_state.json").exists():
            shutil.rmtree(d, ignore_errors=True)


def _latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint; incomplete ones (a kill mid-save) are removed."""
    if not folder.is_dir():
        return None
    found = []
    for d in folder.glob("checkpoint-*"):
        try:
            step = int(d.name.split("-", 1)[1])
        except ValueError:
            continue
        if (d / "trainer_state.json").exists():
            found.append((step, d))
        else:
            shutil.rmtree(d, ignore_errors=True)
    return max(found)[1] if found else None


def _checkpoints_dir(job: JobDir, spec: dict[str, Any]) -> Path:
    return Path(spec["checkpoints_dir"]) if spec.get("checkpoints_dir") else job.checkpoints_dir


def _use_bf16(device: str, model: Any, extra: dict[str, Any]) -> bool:
    import torch

    from ftui_local.models import cpu_has_bf16

    if "bf16" in extra:
        return bool(extra["bf16"])
    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    n_params = sum(p.numel() for p in model.parameters())
    return cpu_has_bf16() and n_params >= BF16_CPU_MIN_PARAMS


def _load_rows(
    method: str, spec: dict[str, Any], tokenizer: Any, max_len_hint: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None, int]:
    """(training rows, validation rows or None, training examples dropped) for the method."""
    from ftui_local.train_data import load_dpo, load_sft

    valid = spec.get("validation_path")
    if method == "supervised":
        rows, dropped = load_sft(spec["training_path"], tokenizer, max_len_hint)
        return rows, load_sft(valid, tokenizer, max_len_hint)[0] if valid else None, dropped
    if method == "dpo":
        return load_dpo(spec["training_path"]), load_dpo(valid) if valid else None, 0
    from ftui_local.train_grpo import load_rows

    return load_rows(spec["training_path"]), load_rows(valid) if valid else None, 0


def _checked_spec(job: JobDir) -> dict[str, Any]:
    spec = job.read_spec()
    if not spec:
        raise FtuiError(f"{job.spec_path}: missing or empty job spec")
    method = spec.get("method", "supervised")
    if method not in ("supervised", "dpo", "reinforcement"):
        raise FtuiError(
            f"{job.spec_path}: field 'method' must be supervised, dpo or reinforcement, not {method!r}"
        )
    for field in ("base_model", "training_path"):
        if not spec.get(field):
            raise FtuiError(f"{job.spec_path}: missing field '{field}'")
    return spec


def _run(job: JobDir, stop: Any, is_main: bool) -> int:
    spec = _checked_spec(job)
    method = spec.get("method", "supervised")
    state = job.read_state()
    if is_main and not job.transition(
        STARTABLE,
        status="running",
        pid=os.getpid(),
        started_at=state.get("started_at") or utcnow(),
        error=None,
    ):
        return 0  # cancelled before this worker got going

    from ftui_local import models
    from ftui_local.train_hparams import resolve

    base = models.resolve_base(spec["base_model"])
    device = models.pick_device(spec.get("device") or "auto")
    tokenizer = models.load_tokenizer(base)
    ctx = models.context_length(base)
    hp = spec.get("hyperparameters") or {}
    max_len_hint = int((hp.get("extra") or {}).get("max_length", min(ctx or 2048, 2048)))

    train_rows, valid_rows, dropped = _load_rows(method, spec, tokenizer, max_len_hint)

    resolved = resolve(
        hp,
        method=method,
        n_examples=len(train_rows),
        context_length=ctx,
        vocab_size=len(tokenizer),
        on_gpu=device == "cuda",
    )
    checkpoint = _latest_checkpoint(_checkpoints_dir(job, spec)) if spec.get("resume") else None
    if is_main:
        job.update_state(resolved_hyperparameters=resolved.model_dump())
        if checkpoint is not None:
            step = checkpoint.name.split("-")[1]
            job.append_event(f"Fine-tuning job resumed from the checkpoint at step {step}")
        else:
            if spec.get("resume"):
                job.append_event("No checkpoint to resume from; training starts over", level="warn")
            job.append_event("Fine-tuning job started")
        if dropped:
            job.append_event(
                f"{dropped} training example(s) skipped: nothing left to learn within "
                f"max_length={max_len_hint}",
                level="warn",
            )
    if stop.value == "cancel" or job.control() == "cancel":
        if is_main:
            _finish_cancelled(job)
        return 0

    import torch

    seed = spec.get("seed")
    seed = int(seed) if seed is not None else 42
    torch.manual_seed(seed)
    init_from = spec.get("init_from")
    model = models.load_model(base, "cpu", adapter=init_from, trainable=True)
    model.train()
    trainer, callback = _build_trainer(
        job,
        method,
        model,
        tokenizer,
        train_rows,
        valid_rows,
        resolved,
        seed,
        device,
        spec,
        stop,
        is_main,
        init_from is not None,
    )
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:
        close = getattr(trainer, "_ftui_close", None)  # reinforcement: grader sandboxes, judges
        if close is not None:
            close()

    _never_publish_a_broken_model(trainer, callback, resolved)
    if not is_main:
        return 0
    if callback.outcome == "cancel":
        _finish_cancelled(job)
        return 0
    if callback.outcome == "pause":
        if not job.transition(RUNNING, status="paused", step=trainer.state.global_step):
            return 0  # cancelled while it saved the pause checkpoint
        job.append_event(
            f"Fine-tuning job paused at step {trainer.state.global_step}; "
            "resume continues from its checkpoint"
        )
        job.clear_control()
        return 0

    _publish(job, trainer, tokenizer, _trained_tokens(trainer, train_rows, resolved.n_epochs), spec)
    return 0


def _publish(job: JobDir, trainer: Any, tokenizer: Any, tokens: int, spec: dict[str, Any]) -> None:
    """Save the adapter and mark the job succeeded, unless it was cancelled meanwhile."""
    _save_adapter(trainer, tokenizer, job.adapter_dir)
    _write_result_csv(job)
    if not job.transition(
        RUNNING,
        status="succeeded",
        finished_at=utcnow(),
        trained_tokens=tokens,
        step=trainer.state.global_step,
        epoch=round(trainer.state.epoch or 0, 4),
    ):
        # Cancelled after the last step or while saving: nothing is published.
        shutil.rmtree(job.adapter_dir, ignore_errors=True)
        return
    name = spec.get("fine_tuned_model") or str(job.adapter_dir)
    job.append_event(f"New fine-tuned model created: {name}")
    job.append_event("The job has successfully completed")
    job.clear_control()


def _build_trainer(
    job: JobDir,
    method: str,
    model: Any,
    tokenizer: Any,
    train_rows: list[dict[str, Any]],
    valid_rows: list[dict[str, Any]] | None,
    resolved: Any,
    seed: int,
    device: str,
    spec: dict[str, Any],
    stop: Any,
    is_main: bool,
    from_adapter: bool,
) -> tuple[Trainer, JobCallback]:
    import warnings

    from datasets import Dataset
    from peft import LoraConfig

    from ftui_local.train_callback import JobCallback

    # trl still spells it gradient_checkpointing; transformers 5 warns on every use. Noise in worker.log.
    warnings.filterwarnings(
        "ignore", message=r".*gradient_checkpointing` is deprecated", category=FutureWarning
    )

    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = resolved.batch_size * resolved.gradient_accumulation_steps * world
    total = math.ceil(len(train_rows) / per_step) * resolved.n_epochs
    # About 60 points for a live chart, every step for small jobs.
    logging_steps = max(1, total // 60)
    extra = (spec.get("hyperparameters") or {}).get("extra") or {}
    common: dict[str, Any] = dict(
        output_dir=str(_checkpoints_dir(job, spec)),
        num_train_epochs=resolved.n_epochs,
        per_device_train_batch_size=resolved.batch_size,
        per_device_eval_batch_size=resolved.batch_size,
        gradient_accumulation_steps=resolved.gradient_accumulation_steps,
        learning_rate=resolved.learning_rate,
        lr_scheduler_type="linear",
        logging_steps=logging_steps,
        save_strategy="steps" if extra.get("save_steps") else "epoch",
        save_steps=int(extra.get("save_steps") or 500),
        save_total_limit=3,
        seed=seed,
        data_seed=seed,
        use_cpu=device == "cpu",
        bf16=_use_bf16(device, model, extra),
        gradient_checkpointing=False,
        report_to="none",
        disable_tqdm=True,
        # The Trainer would log the average of earlier losses in place of a NaN one.
        logging_nan_inf_filter=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        save_only_model=False,
    )
    if valid_rows:
        common.update(eval_strategy="steps", eval_steps=max(1, total // 10))
    if common["bf16"] and device == "cpu":
        _bf16_base_weights(model)
    from ftui_local.train_grpo import modules_to_save

    peft_config = (
        None
        if from_adapter
        else LoraConfig(
            r=resolved.lora_r,
            lora_alpha=resolved.lora_alpha,
            lora_dropout=resolved.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
            modules_to_save=modules_to_save(extra),
        )
    )
    callback = JobCallback(job, stop, is_main=is_main)

    if method == "supervised":
        from trl import SFTConfig

        from ftui_local.train_sft import FtuiSFTTrainer

        if resolved.batching == "padding_free" and device == "cpu":
            # Per-example attention instead of dense attention over the packed row (train_attention).
            from ftui_local.train_attention import use_varlen

            use_varlen(model)
        sft_config = SFTConfig(
            **common,
            max_length=None,  # examples are truncated while tokenizing, with their labels
            padding_free=resolved.batching == "padding_free",
            train_sampling_strategy="group_by_length" if resolved.batching == "group_by_length" else "random",
            remove_unused_columns=False,  # keeps "length" for the length-grouped sampler
            assistant_only_loss=False,
            completion_only_loss=False,
        )
        trainer: Trainer = FtuiSFTTrainer(
            model=model,
            args=sft_config,
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(valid_rows) if valid_rows else None,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[callback],
        )
    elif method == "reinforcement":
        from ftui_local.train_grpo import build_trainer

        trainer = build_trainer(
            common, model, tokenizer, train_rows, valid_rows, resolved, spec, peft_config, callback
        )
    else:
        from trl import DPOConfig, DPOTrainer

        dpo_config = DPOConfig(**common, beta=resolved.beta, max_length=resolved.max_length)
        trainer = DPOTrainer(
            model=model,
            ref_model=None,
            args=dpo_config,
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(valid_rows) if valid_rows else None,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[callback],
        )
    if device == "cpu":
        from ftui_local.train_dropout import install

        install(trainer.model)
    return trainer, callback


def _bf16_base_weights(model: Any) -> None:
    """Frozen base weights in bf16 on CPU, LoRA weights left as they are (fp32).

    Under autocast, fp32 weights that need no gradient are cast to bf16 again at every use (autocast
    caches only leaf tensors that require grad): on this CPU those casts cost as much as the bf16
    matmuls they feed. Buffers (rotary frequencies) stay fp32."""
    import torch

    for name, param in model.named_parameters():
        if "lora_" not in name and param.is_floating_point() and param.dtype != torch.bfloat16:
            param.data = param.data.to(torch.bfloat16)


def _trained_tokens(trainer: Any, train_rows: list[dict[str, Any]], n_epochs: int) -> int:
    """Tokens the model read in training: counted by the Trainer for SFT; for DPO (whose batches
    carry no `input_ids`) the prompt twice, once with each answer, per epoch."""
    seen = int(trainer.state.num_input_tokens_seen or 0)
    if seen:
        return seen
    data = trainer.train_dataset
    columns = getattr(data, "column_names", None) or []
    if "chosen_input_ids" in columns:
        per_epoch = sum(
            2 * len(p) + len(c) + len(r)
            for p, c, r in zip(
                data["prompt_input_ids"], data["chosen_input_ids"], data["rejected_input_ids"], strict=True
            )
        )
        return per_epoch * n_epochs
    return sum(r.get("length", 0) for r in train_rows) * n_epochs


def _save_adapter(trainer: Any, tokenizer: Any, target: Path) -> None:
    # Written beside the target, then renamed: a reader never sees half an adapter.
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def _write_result_csv(job: JobDir) -> None:
    rows: dict[int, dict[str, Any]] = {}
    for event in job.events():
        m = event.get("metrics")
        if event.get("type") != "metrics" or not m:
            continue
        row = rows.setdefault(int(m["step"]), {"step": int(m["step"])})
        for src, dst in (
            ("train_loss", "train_loss"),
            ("train_mean_token_accuracy", "train_accuracy"),
            ("valid_loss", "valid_loss"),
            ("valid_mean_token_accuracy", "valid_mean_token_accuracy"),
        ):
            if m.get(src) is not None:
                row[dst] = m[src]
    tmp = job.result_csv.with_name(".result.csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        for step in sorted(rows):
            writer.writerow(rows[step])
    os.replace(tmp, job.result_csv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftui_local.train", description=__doc__.splitlines()[0])
    parser.add_argument("--job-dir", type=Path, help="the job folder holding spec.json")
    args = parser.parse_args(argv)
    if args.job_dir is not None:
        return run(args.job_dir)
    parser.print_usage(sys.stderr)
    print("error: give --job-dir (on SageMaker the entry point is ftui_sagemaker.entry)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
