"""The bridge between a running trl trainer and the job folder: progress, metrics, checkpoints, control.

At every step end it reads the job's control file (and the SIGTERM flag): "cancel" stops the loop,
"pause" makes the trainer save a resumable checkpoint first. On several GPUs the ranks agree on the
decision through an all-reduce, so no rank keeps training alone.

Before every optimizer step it checks that the gradients are finite: a NaN or infinite loss shows up
there (the Trainer's own logging hides it behind the average of earlier losses). The first
non-finite step stops training with outcome "diverged", and no checkpoint whose weights are not
finite is ever indexed, so a diverged job never publishes a model.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from ftui_local.jobdir import JobDir

# trl's log keys mapped to OpenAI's metric names.
_TRAIN_KEYS = {
    "loss": "train_loss",
    "mean_token_accuracy": "train_mean_token_accuracy",
    "learning_rate": "learning_rate",
}
_VALID_KEYS = {"eval_loss": "valid_loss", "eval_mean_token_accuracy": "valid_mean_token_accuracy"}
_SKIP = {
    "epoch",
    "step",
    "num_input_tokens_seen",
    "total_flos",
    "num_tokens",
    "train_runtime",
    "train_tokens_per_second",
    "train_samples_per_second",
    "train_steps_per_second",
}
_CODES = {None: 0, "pause": 1, "cancel": 2}
_NAMES = {v: k for k, v in _CODES.items()}


class StopFlag:
    """Set from a signal handler; read at the next step end."""

    def __init__(self) -> None:
        self.value: str | None = None


def all_finite(tensors: list[Any]) -> bool:
    """One device sync for the lot: the norm of a tensor holding NaN or inf is not finite."""
    import torch

    tensors = [t.detach() for t in tensors if t is not None]
    if not tensors:
        return True
    norms = torch._foreach_norm([t.float() if t.dtype != torch.float32 else t for t in tensors])
    return bool(torch.isfinite(torch.stack(norms)).all())


def trainable_finite(model: Any) -> bool:
    return all_finite([p for p in model.parameters() if p.requires_grad])


def _finite(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class JobCallback(TrainerCallback):
    def __init__(self, job: JobDir, stop: StopFlag, *, is_main: bool) -> None:
        self.job, self.stop, self.is_main = job, stop, is_main
        self.outcome: str | None = None  # None (ran to the end), "pause", "cancel" or "diverged"
        self.diverged_at: int | None = None  # the step whose gradients were not finite
        self.total_steps = 0
        self.last_metrics: dict[str, Any] | None = None
        self._t0 = time.monotonic()
        self._tokens0: int | None = None

    # ---- control ------------------------------------------------------------------------------
    def _decision(self) -> str | None:
        wanted = self.stop.value or self.job.control()
        if wanted not in _CODES:
            wanted = None
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            import torch

            flag = torch.tensor([_CODES[wanted]], device="cuda" if torch.cuda.is_available() else "cpu")
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            wanted = _NAMES[int(flag.item())]
        return wanted

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.total_steps = state.max_steps
        self._t0 = time.monotonic()
        self._tokens0 = state.num_input_tokens_seen
        if self.is_main:
            self.job.update_state(
                step=state.global_step, total_steps=state.max_steps, epoch=round(state.epoch or 0, 4)
            )

    def on_pre_optimizer_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        model = kwargs.get("model")
        if model is None or self.outcome == "diverged":
            return control
        grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
        if not all_finite(grads):
            self.outcome = "diverged"
            self.diverged_at = state.global_step + 1
            # Keep the weights as they were: this step's update would turn them to NaN too.
            optimizer = kwargs.get("optimizer")
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
            control.should_training_stop = True
            control.should_save = False
        return control

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        if self.outcome == "diverged":
            control.should_training_stop = True
            control.should_save = False
            return control
        wanted = self._decision()
        if wanted == "cancel":
            self.outcome = "cancel"
            control.should_training_stop = True
            control.should_save = False
        elif wanted == "pause":
            self.outcome = "pause"
            control.should_training_stop = True
            control.should_save = True
        return control

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        # The Trainer ends the epoch when a pause or cancel stops it mid-way, and its epoch save
        # would write the pause checkpoint a second time (or one that a cancel does not want).
        if self.outcome is not None:
            control.should_save = False
        return control

    # ---- progress -----------------------------------------------------------------------------
    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.is_main or not logs:
            return
        is_train = "loss" in logs
        if not is_train and "eval_loss" not in logs and "eval_reward" not in logs:
            return  # the end-of-training summary
        step = state.global_step
        point: dict[str, Any] = {
            "step": step,
            "total_steps": state.max_steps,
            "epoch": round(state.epoch or 0, 4),
        }
        keys = _TRAIN_KEYS if is_train else _VALID_KEYS
        for src, dst in keys.items():
            if src in logs:
                point[dst] = _finite(logs[src])
        extra = {
            k: _finite(v)
            for k, v in logs.items()
            if k not in keys and k not in _SKIP and not k.startswith("eval_") and _finite(v) is not None
        }
        if not is_train:
            extra = {
                k.removeprefix("eval_"): _finite(v)
                for k, v in logs.items()
                if k.startswith("eval_")
                and k not in _VALID_KEYS
                and _finite(v) is not None
                and k
                not in ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "eval_num_tokens")
            }
        # Reinforcement (GRPO): the mean reward under OpenAI's RFT metric names.
        if is_train and _finite(logs.get("reward")) is not None:
            extra["train_mean_reward"] = _finite(logs["reward"])
        if not is_train and _finite(logs.get("eval_reward")) is not None:
            extra["full_valid_mean_reward"] = _finite(logs["eval_reward"])
        if extra:
            point["extra"] = extra
        if is_train:
            now = time.monotonic()
            tokens = state.num_input_tokens_seen
            if tokens and self._tokens0 is not None and now > self._t0:
                point["tokens_per_second"] = round((tokens - self._tokens0) / (now - self._t0), 2)
            self._t0, self._tokens0 = now, tokens
        for k in (
            "train_loss",
            "train_mean_token_accuracy",
            "valid_loss",
            "valid_mean_token_accuracy",
            "learning_rate",
            "tokens_per_second",
        ):
            point.setdefault(k, None)
        self.last_metrics = point
        # One write per line: print() writes the newline separately, and another thread's line (the
        # SageMaker entry echoes events) could land in between.
        sys.stdout.write("FTUI_METRICS " + json.dumps(point) + "\n")
        sys.stdout.flush()
        if is_train:
            loss = point["train_loss"]
            shown = f"{loss:.2f}" if loss is not None else "n/a"
            message = f"Step {step}/{state.max_steps}: training loss={shown}"
            if point.get("train_mean_token_accuracy") is not None:
                message += f", token accuracy={point['train_mean_token_accuracy']:.2f}"
            if extra.get("train_mean_reward") is not None:
                message += f", train mean reward={extra['train_mean_reward']:.2f}"
        else:
            vl = point.get("valid_loss")
            message = (
                f"Step {step}/{state.max_steps}: validation loss={vl:.2f}"
                if vl is not None
                else (f"Step {step}/{state.max_steps}: validation done")
            )
            if extra.get("full_valid_mean_reward") is not None:
                message += f", full validation mean reward={extra['full_valid_mean_reward']:.2f}"
        self.job.append_event(message)
        self.job.append_event(f"Step {step} metrics", type="metrics", metrics=point)
        self.job.update_state(step=step, total_steps=state.max_steps, epoch=point["epoch"])

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl | None:
        if args.output_dir is None:
            return None
        from pathlib import Path

        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        model = kwargs.get("model")
        # Every rank checks (their weights are the same), so all of them stop together.
        if model is not None and not trainable_finite(model):
            # Weights that are already NaN make no checkpoint anyone may chat with or resume from.
            if self.is_main:
                import shutil

                shutil.rmtree(path, ignore_errors=True)
            self.outcome = "diverged"
            self.diverged_at = self.diverged_at or state.global_step
            control.should_training_stop = True
            return control
        if not self.is_main or not path.exists():
            return None
        metrics = None
        if self.last_metrics:
            metrics = {k: v for k, v in self.last_metrics.items() if k != "extra"}
            metrics["step"] = state.global_step
        self.job.add_checkpoint(state.global_step, path, metrics)
        self.job.append_event(f"Checkpoint created at step {state.global_step}")
        return None
