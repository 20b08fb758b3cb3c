"""The local job manager: job folders, the queue, detached workers and crash recovery.

Each job is a `JobDir` under `<data>/local/jobs/`. The manager writes the spec and the first
state; a detached worker process (`python -m ftui_local.worker DIR`) trains and writes state
from then on. Scheduling ("reconcile") runs under a file lock whenever a provider call lists or
creates jobs and whenever a worker finishes, so two ftui processes never start the same job:

- a job marked running whose worker is gone (kill -9, reboot) becomes failed/worker_died;
  `resume` continues it from its last checkpoint;
- queued jobs start, oldest first, while fewer than `max_concurrent_jobs` run.

Resumable: paused jobs, and failed jobs whose worker died. Cancelled jobs are not: cancel means
stop for good; to keep training from one of its checkpoints, start a new job with `init_from`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftui import disk
from ftui.errors import NotFound, ProviderError
from ftui.model import (
    EVENT_LEVELS,
    TERMINAL_STATUSES,
    Checkpoint,
    Hyperparameters,
    Job,
    JobError,
    JobEvent,
    MetricPoint,
    one_of,
)
from ftui.paths import data_dir
from ftui_local.jobdir import (
    JobDir,
    file_lock,
    keep_reserve,
    read_json,
    utcnow,
    with_room,
    write_json_atomic,
)
from ftui_local.naming import JOB_PREFIX, checkpoint_id, checkpoint_name, new_job_id

WORKER_MODULE = "ftui_local.worker"
LIVE_STATUSES = frozenset({"validating_files", "running"})
RESUMABLE_ERRORS = frozenset({"worker_died", "disk_full"})
# Less room than this where a job's folder is: the likely reason its worker died.
LOW_SPACE_BYTES = 16 * 1024 * 1024
_JOB_ID = re.compile(rf"^{JOB_PREFIX}[A-Za-z0-9]+$")
_METRIC_FIELDS = frozenset(MetricPoint.model_fields) - {"extra"}

# Workers this process started, kept so they are reaped (no zombies in a long-lived TUI).
_children: dict[int, subprocess.Popen[bytes]] = {}


def jobs_root() -> Path:
    return data_dir() / "local" / "jobs"


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cmdline(pid: int) -> str | None:
    """The command line of a live process; None if it is gone or a zombie."""
    try:
        import psutil
    except ImportError:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def worker_alive(job_id: str, pid: int | None) -> bool:
    """True when `pid` is a live worker for this job (a reused pid runs something else)."""
    if not pid:
        return False
    for child_pid, proc in list(_children.items()):
        if proc.poll() is not None:
            _children.pop(child_pid, None)
    cmdline = _cmdline(pid)
    # Linux shows an empty command line for a moment while a process execs, and Popen can return
    # inside that moment: wait for it rather than declare a worker that is just starting dead.
    for _ in range(100):
        if cmdline != "":
            break
        time.sleep(0.02)
        cmdline = _cmdline(pid)
    return cmdline is not None and WORKER_MODULE in cmdline and job_id in cmdline


def _hyperparameters(asked: dict[str, Any], resolved: dict[str, Any]) -> Hyperparameters:
    """What was asked, with "auto" replaced by what the trainer chose once it has."""
    fields = {k: v for k, v in asked.items() if k in Hyperparameters.model_fields and k != "extra"}
    fields.update({k: v for k, v in resolved.items() if k in Hyperparameters.model_fields and v is not None})
    extra = {
        **{k: v for k, v in resolved.items() if k not in Hyperparameters.model_fields},
        **(asked.get("extra") or {}),
    }
    return Hyperparameters.lenient(fields, extra)


def _eta(state: dict[str, Any]) -> datetime | None:
    """When the job should end at the pace of this run (a resumed run is timed from its restart)."""
    run_started = _parse_time(state.get("run_started_at") or state.get("started_at"))
    step, total = state.get("step") or 0, state.get("total_steps") or 0
    done = step - (state.get("run_start_step") or 0)
    if state.get("status") != "running" or not run_started or not total or done <= 0 or step >= total:
        return None
    now = datetime.now(UTC)
    return now + (now - run_started) / done * (total - step)


def metric_point(data: dict[str, Any] | None) -> MetricPoint | None:
    """A MetricPoint from a trainer's metrics dict; unknown numeric keys go to `extra`."""
    if not data or "step" not in data:
        return None
    known = {k: v for k, v in data.items() if k in _METRIC_FIELDS and v is not None}
    extra = {
        k: float(v)
        for k, v in data.items()
        if k not in _METRIC_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    extra.update(data.get("extra") or {})
    try:
        return MetricPoint(**known, extra=extra)
    except ValueError:
        return None


class JobManager:
    def __init__(self, root: Path | None = None, *, max_concurrent: int = 1) -> None:
        self.root = root or jobs_root()
        self.max_concurrent = max_concurrent

    # -- folders ----------------------------------------------------------------------------
    def dir(self, job_id: str) -> JobDir:
        if not _JOB_ID.match(job_id or "") or not (self.root / job_id / "spec.json").exists():
            raise NotFound("fine-tuning job", job_id)
        return JobDir(self.root / job_id)

    def all_dirs(self) -> list[JobDir]:
        """Every job folder, newest first."""
        if not self.root.is_dir():
            return []
        dirs = [
            JobDir(p) for p in self.root.iterdir() if _JOB_ID.match(p.name) and (p / "spec.json").exists()
        ]
        created = {d.job_id: d.read_state().get("created_at", "") for d in dirs}
        return sorted(dirs, key=lambda d: (created[d.job_id], d.job_id), reverse=True)

    def _scheduler_lock(self) -> AbstractContextManager[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        return file_lock(self.root / ".scheduler.lock")

    # -- create -----------------------------------------------------------------------------
    def new_dir(self) -> JobDir:
        jd = JobDir(self.root / new_job_id())
        jd.path.mkdir(parents=True)
        return jd

    def submit(self, jd: JobDir, spec: dict[str, Any], *, notes: Sequence[str] = ()) -> None:
        """Record a new job as queued; `schedule()` then starts it when a slot is free."""
        keep_reserve(jd.path)  # on a full disk this fails now, before any job exists
        write_json_atomic(jd.state_path, {"status": "queued", "created_at": utcnow(), "worker_pid": None})
        jd.append_event(f"Created fine-tuning job: {jd.job_id}")
        for note in notes:
            jd.append_event(note)
        jd.append_event("Job queued")
        jd.write_spec({**spec, "job_id": jd.job_id})  # last: a folder counts as a job once it has a spec

    # -- scheduling -------------------------------------------------------------------------
    def schedule(self) -> list[str]:
        """Reconcile dead workers and start queued jobs while slots are free; the ids started."""
        with self._scheduler_lock():
            running = 0
            queued: list[tuple[str, JobDir]] = []
            for jd in self.all_dirs():
                state = jd.read_state()
                status = state.get("status")
                if status in LIVE_STATUSES:
                    if worker_alive(jd.job_id, state.get("worker_pid")):
                        running += 1
                    else:
                        self._mark_died(jd)
                elif status == "queued":
                    queued.append((state.get("created_at", ""), jd))
            started = []
            for _, jd in sorted(queued, key=lambda q: (q[0], q[1].job_id)):
                if running >= self.max_concurrent:
                    break
                if self._start_worker(jd):
                    running += 1
                    started.append(jd.job_id)
            return started

    def _mark_died(self, jd: JobDir) -> None:
        ckpts = jd.checkpoints()
        where = (
            f"the last checkpoint (step {ckpts[-1]['step']})"
            if ckpts
            else "the beginning (no checkpoint was saved)"
        )
        free = disk.free_bytes(jd.path)
        if free is not None and free < LOW_SPACE_BYTES:
            code = "disk_full"
            message = (
                f"The training worker stopped unexpectedly, and the disk holding {jd.path.parent} "
                f"({disk.mount_point(jd.path)}) is full ({disk.human(free)} free): the likely reason. "
                f"Free some space, then `ftui jobs resume {jd.job_id}` will continue from {where}."
            )
        else:
            code = "worker_died"
            message = (
                f"The training worker stopped unexpectedly (killed, or the machine restarted; "
                f"its log: {jd.log_path}). `ftui jobs resume {jd.job_id}` will continue from {where}."
            )
        # The job's last words: on a full disk they use the room its folder kept back.
        state = with_room(
            jd.path,
            lambda: jd.transition(
                LIVE_STATUSES,
                status="failed",
                finished_at=utcnow(),
                worker_pid=None,
                error={"code": code, "message": message},
            ),
        )
        if state is not None:
            with_room(jd.path, lambda: jd.append_event(message, level="error"))

    def _start_worker(self, jd: JobDir) -> bool:
        cmd = [
            sys.executable,
            "-m",
            WORKER_MODULE,
            str(jd.path),
            "--max-concurrent",
            str(self.max_concurrent),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(jd.log_path, "ab") as log:
            # A new session: closing the terminal or the TUI (SIGHUP to its process group) does
            # not reach the worker.
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                close_fds=True,
                start_new_session=True,
                cwd=jd.path,
                env=env,
            )
        _children[proc.pid] = proc
        # `worker_pid` is ours: the trainer records its own `pid`, which on several GPUs is a rank
        # process rather than the worker.
        before = jd.read_state()
        state = jd.transition(
            {"queued"},
            status="running",
            worker_pid=proc.pid,
            started_at=before.get("started_at") or utcnow(),
            run_started_at=utcnow(),
            run_start_step=before.get("step") or 0,
            finished_at=None,
            error=None,
        )
        if state is None:  # cancelled or paused while we were starting it: the worker must not train
            proc.kill()
            proc.wait()
            _children.pop(proc.pid, None)
            return False
        return True

    # -- verbs ------------------------------------------------------------------------------
    def cancel(self, job_id: str) -> JobDir:
        """Cancelled at once, and true at once: the state says so before the worker is stopped, so
        the worker can no longer end the job any other way (it writes every status through
        `transition`), and the worker is killed and gone before this returns."""
        jd = self.dir(job_id)
        with jd.lock():
            state = read_json(jd.state_path, {})
            status = state.get("status")
            if status in TERMINAL_STATUSES:
                raise ProviderError(
                    f"job {job_id} is already {status}; only active or paused jobs can be cancelled",
                    code="invalid_state",
                    status=400,
                )
            worker = state.get("worker_pid") if status in LIVE_STATUSES else None
            state.update(status="cancelled", finished_at=utcnow(), worker_pid=None)
            write_json_atomic(jd.state_path, state)
        if worker and worker_alive(job_id, worker):
            jd.append_event("Cancellation requested")
            stop_worker(worker)
            jd.append_event("Fine-tuning job cancelled")
        else:
            jd.append_event("Job cancelled", level="warn")
        jd.clear_control()
        self.schedule()  # the slot it held goes to the next queued job
        return jd

    def pause(self, job_id: str) -> JobDir:
        jd = self.dir(job_id)
        state = jd.read_state()
        status = state.get("status")
        if status in LIVE_STATUSES and worker_alive(job_id, state.get("worker_pid")):
            jd.set_control("pause")
            jd.append_event("Pause requested: saving a checkpoint")
            return jd
        if status == "queued" and jd.transition({"queued"}, status="paused") is not None:
            jd.append_event("Job paused before it started")
            return jd
        raise ProviderError(
            f"job {job_id} is {status}; only running or queued jobs can be paused",
            code="invalid_state",
            status=400,
        )

    def resume(self, job_id: str) -> JobDir:
        jd = self.dir(job_id)
        state = jd.read_state()
        status = state.get("status")
        error_code = (state.get("error") or {}).get("code")
        if status in LIVE_STATUSES and jd.control() == "pause":
            jd.clear_control()  # the pause was not honoured yet: just keep going
            jd.append_event("Pause withdrawn")
            return jd
        if not (status == "paused" or (status == "failed" and error_code in RESUMABLE_ERRORS)):
            hint = (
                " A cancelled job cannot be resumed; start a new job with init_from set to one "
                "of its checkpoints."
                if status == "cancelled"
                else ""
            )
            raise ProviderError(
                f"job {job_id} is {status}; only paused jobs and jobs whose worker "
                f"died can be resumed.{hint}",
                code="invalid_state",
                status=400,
            )
        keep_reserve(jd.path)  # still full: this says so, and the job stays as it is
        ckpts = jd.checkpoints()
        spec = jd.read_spec()
        spec["resume"] = bool(ckpts)
        jd.write_spec(spec)
        jd.clear_control()
        if jd.transition({status}, status="queued", error=None, finished_at=None, worker_pid=None) is None:
            raise ProviderError(
                f"job {job_id} changed state while resuming; try again", code="conflict", status=409
            )
        jd.append_event(
            f"Resume requested: the job is queued to continue from checkpoint step {ckpts[-1]['step']}"
            if ckpts
            else "Resume requested: the job is queued to start over (no checkpoint yet)"
        )
        self.schedule()
        return jd

    # -- views ------------------------------------------------------------------------------
    def to_job(self, jd: JobDir) -> Job:
        spec, state = jd.read_spec(), jd.read_state()
        status = state.get("status", "queued")
        hyper = _hyperparameters(
            spec.get("hyperparameters") or {}, state.get("resolved_hyperparameters") or {}
        )
        error = state.get("error")
        started = _parse_time(state.get("started_at"))
        progress = state.get("progress")
        if progress is None and state.get("total_steps"):
            progress = min(1.0, (state.get("step") or 0) / state["total_steps"])
        if status == "succeeded":
            progress = 1.0
        eta = _parse_time(state.get("estimated_finish")) or _eta(state)
        model = spec.get("fine_tuned_model")
        results = [str(jd.result_csv)] if jd.result_csv.exists() else []
        return Job(
            id=jd.job_id,
            provider="local",
            status=status,
            base_model=spec.get("base_model", ""),
            method=spec.get("method", "supervised"),
            fine_tuned_model=model if status == "succeeded" else None,
            created_at=_parse_time(state.get("created_at")) or datetime.now(UTC),
            started_at=started,
            finished_at=_parse_time(state.get("finished_at")),
            trained_tokens=state.get("trained_tokens"),
            error=JobError(code=error.get("code", "error"), message=error.get("message", ""))
            if isinstance(error, dict)
            else None,
            hyperparameters=hyper,
            training_file=spec.get("training_file"),
            validation_file=spec.get("validation_file"),
            suffix=spec.get("suffix"),
            seed=spec.get("seed"),
            result_files=results,
            progress=progress,
            estimated_finish=eta if status == "running" else None,
            metadata=spec.get("metadata") or {},
            raw={"state": state, "spec": spec},
        )

    def events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        out: list[JobEvent] = []
        for e in self.dir(job_id).events(after):
            try:
                event = JobEvent(
                    id=e["id"],
                    created_at=_parse_time(e.get("created_at")) or datetime.now(UTC),
                    level=one_of(e.get("level"), EVENT_LEVELS, "info"),
                    message=str(e.get("message", "")),
                    type="metrics" if e.get("type") == "metrics" else "message",
                    metrics=metric_point(e.get("metrics")),
                )
            except (KeyError, ValueError):
                continue  # a line another version wrote that we cannot read: skip, keep the rest
            # The trainer writes a "Step N/M: training loss=..." line, then the step's metrics;
            # OpenAI sends one metrics event carrying that line, and so do we.
            if (
                event.metrics
                and out
                and out[-1].type == "message"
                and out[-1].message.startswith(f"Step {event.metrics.step}/")
            ):
                event = event.model_copy(update={"message": out.pop().message})
            out.append(event)
        return out

    def checkpoints(self, job_id: str) -> list[Checkpoint]:
        jd = self.dir(job_id)
        model = jd.read_spec().get("fine_tuned_model", "")
        return [
            Checkpoint(
                id=checkpoint_id(job_id, c["step"]),
                job_id=job_id,
                step=c["step"],
                created_at=_parse_time(c.get("created_at")) or datetime.now(UTC),
                fine_tuned_model_checkpoint=checkpoint_name(model, c["step"]),
                metrics=metric_point({"step": c["step"], **(c.get("metrics") or {})}),
            )
            for c in reversed(jd.checkpoints())  # newest first, as OpenAI lists them
        ]


def stop_worker(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL a worker with everything it started (it leads its own process group: the launcher's
    ranks too) and wait until it is gone. Not SIGTERM: the trainer would finish its step first,
    and a cancel must not leave a process that might still save or publish anything."""
    import signal

    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    child = _children.pop(pid, None)
    if child is not None:  # ours: reap it, or it lingers as a zombie
        child.wait(timeout)
        return
    end = time.monotonic() + timeout
    while _cmdline(pid) is not None and time.monotonic() < end:
        time.sleep(0.01)


def kill_workers(root: Path | None = None) -> list[int]:
    """SIGKILL every worker process of the jobs under `root` (with its launcher's children).

    For cleaning up after tests and before removing a data folder; the jobs then read as
    failed/worker_died and can be resumed.
    """
    import signal

    import psutil

    root = root or jobs_root()
    killed = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if WORKER_MODULE in cmdline and any(arg.startswith(str(root)) for arg in cmdline):
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker leads its own session and group
            except (ProcessLookupError, PermissionError):
                continue
            killed.append(proc.pid)
    for pid in killed:
        child = _children.pop(pid, None)
        if child is not None:
            child.wait()
    return killed
