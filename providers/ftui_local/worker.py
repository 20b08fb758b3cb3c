"""The detached training worker: `python -m ftui_local.worker JOB_DIR [--max-concurrent N]`.

The job manager starts it in its own session, so it outlives the TUI or shell that started it.
It trains the job (`ftui_local.train.run`), makes sure the job ends in a definite state whatever
happens, then starts the next queued jobs if slots are free. With several CUDA devices it trains
on all of them, one process per device (data parallel, launched by torchrun). The same launch,
with CPU processes, is what the tests run: no GPU has been lent to this project yet.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import traceback

from ftui import disk
from ftui_local.jobdir import JobDir, keep_reserve
from ftui_local.jobs import LIVE_STATUSES, JobManager


def _fail(jd: JobDir, code: str, message: str) -> None:
    jd.last_words(code, message, expect=LIVE_STATUSES)


def cuda_device_count(device: str) -> int:
    if device == "cpu":
        return 0
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        return 0


def _die_with_parent() -> None:
    # Linux: if this worker is killed (-9), the launcher and its ranks get SIGTERM instead of
    # training on as orphans nobody tracks.
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def launch_distributed(jd: JobDir, processes: int) -> int:
    """One training process per GPU (per CPU process on a CPU job); the Trainer (accelerate) reads
    torchrun's environment, shards the batches and syncs gradients. `--standalone` picks a free
    port, so two jobs never collide."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(processes),
        "-m",
        "ftui_local.train",
        "--job-dir",
        str(jd.path),
    ]
    on_cpu = str(jd.read_spec().get("device")) == "cpu"
    jd.append_event(f"Training data parallel on {processes} {'CPU processes' if on_cpu else 'GPUs'}")
    return subprocess.call(cmd, preexec_fn=_die_with_parent)  # the worker has no threads yet


def train(jd: JobDir) -> int:
    gpus = cuda_device_count(str(jd.read_spec().get("device") or "auto"))
    if gpus > 1:
        return launch_distributed(jd, gpus)
    from ftui_local.train import run

    return int(run(jd.path) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftui_local.worker")
    parser.add_argument("job_dir")
    parser.add_argument("--max-concurrent", type=int, default=1)
    args = parser.parse_args(argv)
    jd = JobDir(args.job_dir)
    rc = 1
    try:
        jd.update_state(worker_pid=os.getpid())
        with contextlib.suppress(OSError):
            keep_reserve(jd.path)  # a resumed job gets its reserve back where there is room
        rc = train(jd)
    except Exception as exc:
        with contextlib.suppress(OSError):  # the whole story goes to worker.log; the job gets one line
            traceback.print_exc()
        full = disk.describe(exc, jd.path)
        if full:
            _fail(
                jd, "disk_full", f"{full}. `ftui jobs resume {jd.job_id}` continues from the last checkpoint."
            )
        else:
            _fail(jd, "training_error", f"Training failed: {type(exc).__name__}: {exc}")
    finally:
        if jd.read_state().get("status") in LIVE_STATUSES:
            _fail(
                jd,
                "worker_exited",
                f"The training worker exited (code {rc}) before the job finished; see {jd.log_path}",
            )
        if jd.read_state().get("status") != "running":
            jd.clear_control()
        try:
            JobManager(jd.path.parent, max_concurrent=args.max_concurrent).schedule()
        except Exception:
            traceback.print_exc()
    return rc


if __name__ == "__main__":
    sys.exit(main())
