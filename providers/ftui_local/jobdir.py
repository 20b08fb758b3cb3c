"""A local job's folder: the contract between the job manager and the training worker.

    spec.json          what to train (written once by the manager)
    state.json         status and progress (manager before the worker starts, worker after)
    events.jsonl       append-only JobEvent lines (both write; appends are locked)
    control            "cancel" or "pause", written by the manager, polled by the worker each step
    checkpoints.jsonl  one line per kept checkpoint: {step, created_at, path, metrics}
    checkpoints/       trainer output_dir (checkpoint-STEP folders)
    adapter/           the final LoRA adapter and tokenizer
    result.csv         step metrics, OpenAI's result-file columns
    worker.log         the worker's stdout and stderr
    .reserve           room kept back for the last words of a job on a full disk (see below)

Every JSON write is atomic (temp file + rename), so a reader never sees half a file and a killed
worker never leaves a corrupt one.

A full disk must not leave a job `running` with nobody to say why: each job folder holds a small
reserve file. Writes during training never touch it (a write that fails for want of space stops
the job); only a job's last words (`last_words`: its failed state and the event saying why) may
give it back to get written, so the job ends `failed` with the reason and stays resumable.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import time
from collections.abc import Collection
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftui.locks import file_lock as file_lock  # the job folders' and the scheduler's locks

RESERVE_NAME = ".reserve"
RESERVE_BYTES = 256 * 1024
_FULL = (errno.ENOSPC, errno.EDQUOT)


def utcnow() -> str:
    return datetime.now(UTC).isoformat()


def keep_reserve(folder: Path) -> None:
    """Set aside room in `folder` (a no-op if it is there already). Raises on a full disk."""
    reserve = folder / RESERVE_NAME
    if reserve.exists():
        return
    with open(reserve, "wb") as fh:
        fh.write(b"\0" * RESERVE_BYTES)  # real blocks: a sparse file would free nothing


def with_room(folder: Path, write: Any) -> Any:
    """Run `write()`; if the disk is full, give back the folder's reserve and run it once more.
    For a job's last words only: see the module's docstring."""
    try:
        return write()
    except OSError as exc:
        reserve = folder / RESERVE_NAME
        if exc.errno not in _FULL or not reserve.exists():
            raise
        reserve.unlink()
        return write()


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=1, default=str), encoding="utf-8")
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written temp file behind
        raise
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def new_event_id() -> str:
    # Time-ordered, so ids sort the way the events happened, across both writers.
    return f"ftevent-{time.time_ns():020d}{secrets.token_hex(2)}"


class JobDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def job_id(self) -> str:
        return self.path.name

    spec_path = property(lambda self: self.path / "spec.json")
    state_path = property(lambda self: self.path / "state.json")
    events_path = property(lambda self: self.path / "events.jsonl")
    control_path = property(lambda self: self.path / "control")
    checkpoints_index = property(lambda self: self.path / "checkpoints.jsonl")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    adapter_dir = property(lambda self: self.path / "adapter")
    result_csv = property(lambda self: self.path / "result.csv")
    log_path = property(lambda self: self.path / "worker.log")

    def lock(self) -> AbstractContextManager[None]:
        return file_lock(self.path / ".lock")

    # spec
    def read_spec(self) -> dict[str, Any]:
        return read_json(self.spec_path, {})

    def write_spec(self, spec: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.spec_path, spec)

    def last_words(
        self, code: str, message: str, event: str | None = None, expect: Collection[str | None] | None = None
    ) -> bool:
        """End the job `failed` with error (code, message), and `event` (else the message) as an
        error event, if its status is one of `expect`; on a full disk, with the room the reserve
        kept for exactly this."""
        state = with_room(
            self.path,
            lambda: self.transition(
                expect, status="failed", error={"code": code, "message": message}, finished_at=utcnow()
            ),
        )
        if state is None:
            return False
        with_room(self.path, lambda: self.append_event(event or message, level="error"))
        return True

    # state
    def read_state(self) -> dict[str, Any]:
        return read_json(self.state_path, {})

    def update_state(self, **fields: Any) -> dict[str, Any]:
        with self.lock():
            state = self.read_state()
            state.update(fields)
            write_json_atomic(self.state_path, state)
            return state

    def transition(self, expect: Collection[str | None] | None, **fields: Any) -> dict[str, Any] | None:
        """Update the state only if its status is one of `expect`; the new state, else None.

        Every status change goes through here, so a job the manager cancelled stays cancelled
        whatever its worker was about to write."""
        with self.lock():
            state = self.read_state()
            if expect is not None and state.get("status") not in expect:
                return None
            state.update(fields)
            write_json_atomic(self.state_path, state)
            return state

    # events
    def append_event(
        self,
        message: str,
        *,
        level: str = "info",
        type: str = "message",
        metrics: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        event = {
            "id": new_event_id(),
            "created_at": utcnow(),
            "level": level,
            "message": message,
            "type": type,
            "metrics": metrics,
        }
        line = json.dumps(event, default=str) + "\n"
        with self.lock(), open(self.events_path, "a+b") as fh:
            # A write cut short by a full disk may have left half a line: start a fresh one.
            end = fh.seek(0, os.SEEK_END)
            if end:
                fh.seek(end - 1)
                if fh.read(1) != b"\n":
                    line = "\n" + line
            fh.write(line.encode("utf-8"))
        return event

    def events(self, after: str | None = None) -> list[dict[str, Any]]:
        """Events oldest first; with `after`, only those after that event id."""
        try:
            text = self.events_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: skip it, keep the rest
            if after is None or event["id"] > after:
                out.append(event)
        return out

    # control
    def control(self) -> str | None:
        try:
            return self.control_path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def set_control(self, value: str) -> None:
        self.control_path.write_text(value)

    def clear_control(self) -> None:
        self.control_path.unlink(missing_ok=True)

    # checkpoints
    def add_checkpoint(self, step: int, path: Path, metrics: dict[str, Any] | None) -> None:
        line = json.dumps({"step": step, "created_at": utcnow(), "path": str(path), "metrics": metrics})
        with self.lock(), open(self.checkpoints_index, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def checkpoints(self) -> list[dict[str, Any]]:
        """Checkpoints still on disk, oldest first."""
        try:
            lines = self.checkpoints_index.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found: dict[int, dict[str, Any]] = {}
        for line in lines:
            try:
                c = json.loads(line)
            except json.JSONDecodeError:
                continue
            if Path(c["path"]).exists():
                found[c["step"]] = c
        return [found[k] for k in sorted(found)]
