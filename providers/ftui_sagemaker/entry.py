"""The training entry point inside SageMaker's Hugging Face container (`ftui_train.py` in sourcedir.tar.gz).

The sagemaker-training toolkit unpacks the sourcedir into /opt/ml/code and runs `python ftui_train.py
--key value ...` (or, with the DLC's torch_distributed setting, `torchrun --nnodes N --nproc_per_node
GPUS [--master_addr algo-1 --node_rank R] ftui_train.py ...`). This module turns SageMaker's
environment into a local job folder and trains it with `ftui_local.train.run`: the same code the local
provider runs.

    SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION   the JSONL files (first *.jsonl in each)
    SM_CHANNEL_MODEL                           base weights staged by ftui: a model folder or one .tar of it
    SM_HPS                                     our hyperparameters (the toolkit drops the sagemaker_* ones)
    SM_MODEL_DIR                               the artefact: the merged model (or the adapter)
    SM_OUTPUT_DATA_DIR                         the job folder (events, result.csv, adapter) -> output.tar.gz
    SM_CHECKPOINT_DIR                          not set by SageMaker; default /opt/ml/checkpoints (or
                                               checkpointconfig.json's LocalPath), synced to S3 for spot

Rank 0 copies every job event to stdout as `FTUI_EVENT {json}` next to the trainer's `FTUI_METRICS`
lines, so CloudWatch Logs carries both to ftui. A failure ends with `FTUI_ERROR message` on stderr and the
message in /opt/ml/output/failure, whose first 1024 characters become the job's FailureReason.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import threading
from pathlib import Path
from typing import Any

HPS_KNOWN = (
    "base_model",
    "method",
    "n_epochs",
    "batch_size",
    "learning_rate_multiplier",
    "beta",
    "seed",
    "fine_tuned_model",
    "device",
    "suffix",
    "merge",
)
JOB_FOLDER = "ftui-job"
DEFAULT_BASE = "smollm2-135m-instruct"


class EntryError(Exception):
    """A setup problem in the container, told in one line."""


def _hp_value(v: Any) -> Any:
    # The toolkit json-decodes each value where it can; a raw string ("auto", a path) stays a string.
    if isinstance(v, str):
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    return v


def _first_file(folder: Path, what: str) -> Path:
    if not folder.is_dir():
        raise EntryError(f"{folder}: the {what} channel is missing")
    files = sorted(folder.rglob("*.jsonl")) or sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise EntryError(f"{folder}: no file in the {what} channel")
    return files[0]


def checkpoint_dir(env: dict[str, str]) -> Path:
    if env.get("SM_CHECKPOINT_DIR"):
        return Path(env["SM_CHECKPOINT_DIR"])
    config = Path(env.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config")) / "checkpointconfig.json"
    try:
        local = json.loads(config.read_text()).get("LocalPath")
    except (OSError, ValueError):
        local = None
    return Path(local or "/opt/ml/checkpoints")


def _has_checkpoint(folder: Path) -> bool:
    return any((d / "trainer_state.json").exists() for d in folder.glob("checkpoint-*"))


def base_model_from_channel(channel: Path, scratch: Path) -> str:
    """The staged base weights as a model folder: the channel itself, or one tar unpacked once."""
    if (channel / "config.json").exists():
        return str(channel)
    tars = sorted(channel.glob("*.tar"))
    if len(tars) != 1:
        raise EntryError(f"{channel}: the model channel holds neither a model folder nor one .tar of it")
    target = scratch / "base-model"
    done = target / ".unpacked"
    if not done.exists():
        # Every process on a host may get here; the first one unpacks, the others wait on the lock.
        import fcntl

        scratch.mkdir(parents=True, exist_ok=True)
        with open(scratch / ".unpack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                shutil.rmtree(target, ignore_errors=True)
                with tarfile.open(tars[0]) as tar:
                    tar.extractall(target, filter="data")
                done.touch()
    return str(target)


def job_from_env(env: dict[str, str] | None = None) -> tuple[Path, dict[str, Any]]:
    """Write the job folder SageMaker's environment describes; (job folder, the hyperparameters)."""
    env = dict(os.environ if env is None else env)
    if not env.get("SM_CHANNEL_TRAIN"):
        raise EntryError("SM_CHANNEL_TRAIN is not set: this runs inside a SageMaker training container")
    hps = {k: _hp_value(v) for k, v in json.loads(env.get("SM_HPS") or "{}").items()}
    out = Path(env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")) / JOB_FOLDER
    ckpt = checkpoint_dir(env)
    ckpt.mkdir(parents=True, exist_ok=True)
    base = str(hps.get("base_model") or DEFAULT_BASE)
    if env.get("SM_CHANNEL_MODEL"):
        base = base_model_from_channel(Path(env["SM_CHANNEL_MODEL"]), out.parent / "ftui-scratch")
    validation = env.get("SM_CHANNEL_VALIDATION")
    spec = {
        "job_id": env.get("TRAINING_JOB_NAME", "sagemaker"),
        "base_model": base,
        "method": hps.get("method", "supervised"),
        "training_path": str(_first_file(Path(env["SM_CHANNEL_TRAIN"]), "train")),
        "validation_path": str(_first_file(Path(validation), "validation")) if validation else None,
        "hyperparameters": {
            **{k: hps[k] for k in ("n_epochs", "batch_size", "learning_rate_multiplier", "beta") if k in hps},
            "extra": {k: v for k, v in hps.items() if k not in HPS_KNOWN},
        },
        "seed": hps.get("seed"),
        "fine_tuned_model": hps.get("fine_tuned_model"),
        "device": hps.get("device", "auto"),
        "init_from": None,
        "resume": _has_checkpoint(ckpt),  # a spot restart finds SageMaker's copy of the checkpoints here
        "checkpoints_dir": str(ckpt),
        "on_sigterm": "pause",  # stop or spot interruption: save where we are; SageMaker keeps it
    }
    from ftui_local.jobdir import JobDir

    JobDir(out).write_spec(spec)
    return out, hps


class EventEcho:
    """Copies new lines of events.jsonl to stdout as `FTUI_EVENT {json}` while training runs."""

    def __init__(self, events: Path, interval: float = 0.1) -> None:
        self.events, self.interval = events, interval
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ftui-event-echo", daemon=True)

    def __enter__(self) -> EventEcho:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        try:
            with open(self.events, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # only whole lines; a half-written one waits for the next pass
        for line in data[:end].decode("utf-8", "replace").splitlines():
            if line.strip():
                sys.stdout.write("FTUI_EVENT " + line + "\n")  # one write: a whole line, never split
                sys.stdout.flush()
        self._offset += end


def merge_into(base: str, adapter: Path, target: Path) -> None:
    """The base model with the adapter merged in, as safetensors with its tokenizer: what TGI and vLLM
    load from /opt/ml/model (neither serves an unmerged adapter from there)."""
    from ftui_local import models
    from peft import PeftModel

    ref = models.resolve_base(base)
    if ref == models.TINY_LLAMA:
        model = models.load_model(ref, "cpu")
    else:
        from transformers import AutoModelForCausalLM

        # The checkpoint's own dtype (bf16 for most), on CPU: a merge needs no GPU and fits host memory.
        model = AutoModelForCausalLM.from_pretrained(ref, dtype="auto", low_cpu_mem_usage=True)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    target.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(target))
    models.load_tokenizer(base).save_pretrained(str(target))


def _write_failure(env: dict[str, str], message: str) -> None:
    output = Path(
        env.get("SM_OUTPUT_DIR") or Path(env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")).parent
    )
    try:
        output.mkdir(parents=True, exist_ok=True)
        (output / "failure").write_text(message[:1024], encoding="utf-8")
    except OSError:
        pass
    print(f"FTUI_ERROR {message}", file=sys.stderr, flush=True)


def _finish(job_dir: Path, hps: dict[str, Any], env: dict[str, str]) -> int:
    """After training, on rank 0: the artefact into SM_MODEL_DIR."""
    from ftui_local.jobdir import JobDir

    job = JobDir(job_dir)
    state = job.read_state()
    status = state.get("status")
    if status == "paused":
        # A stop or a spot interruption: the checkpoint is in checkpoints_dir; SageMaker decides what next.
        return 0
    if status != "succeeded":
        error = state.get("error") or {}
        _write_failure(env, error.get("message") or f"training ended {status or 'without a status'}")
        return 1
    model_dir = Path(env.get("SM_MODEL_DIR", "/opt/ml/model"))
    model_dir.mkdir(parents=True, exist_ok=True)
    if hps.get("merge", True) in (True, "true", "True", 1):
        job.append_event("Merging the adapter into the base model for serving")
        merge_into(job.read_spec()["base_model"], job.adapter_dir, model_dir)
        job.append_event(f"Merged model written to {model_dir}")
    else:
        shutil.copytree(job.adapter_dir, model_dir, dirs_exist_ok=True)
        job.append_event(f"LoRA adapter written to {model_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    # The toolkit also passes each hyperparameter as `--name value`; SM_HPS carries the same values.
    env = dict(os.environ)
    try:
        job_dir, hps = job_from_env(env)
    except (EntryError, ValueError) as exc:
        _write_failure(env, str(exc))
        return 2
    from ftui_local.jobdir import JobDir
    from ftui_local.train import run

    if int(env.get("RANK", "0")) != 0:
        return run(job_dir)
    with EventEcho(JobDir(job_dir).events_path):
        run(job_dir)  # whatever happens, the job folder's state says how it ended
        try:
            return _finish(job_dir, hps, env)
        except Exception as exc:  # the merge or the copy: the job must still end with a reason
            _write_failure(env, f"saving the model failed: {type(exc).__name__}: {exc}")
            return 1


if __name__ == "__main__":
    sys.exit(main())
