"""Runs a python grader's `grade(sample, item)` in a sandboxed worker process (see `sandbox_worker`).

One worker per grader, reused across samples (starting Python per sample would cost more than most
grades), one call at a time. A call that passes its time limit kills the worker; the next call
starts a fresh one. The worker's environment is empty, so no secret of this process reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("sandbox_worker.py")
START_TIMEOUT_S = 30.0
MAX_LINE = 1024 * 1024


@dataclass
class Outcome:
    score: float | None = None
    error: str | None = None
    kind: str = "runtime"  # runtime (the user's code) or server (the sandbox itself)


class PythonSandbox:
    def __init__(self, source: str, *, timeout_s: float = 10.0, memory_mb: int = 512) -> None:
        self.source, self.timeout_s, self.memory_mb = source, timeout_s, memory_mb
        self._proc: asyncio.subprocess.Process | None = None
        self._scratch: str | None = None
        self._lock: asyncio.Lock | None = None
        self._load_error: str | None = None

    async def _start(self) -> Outcome | None:
        self._scratch = tempfile.mkdtemp(prefix="ftui-grader-")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1"}
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            str(WORKER),
            str(self.memory_mb),
            self._scratch,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self._scratch,
            env=env,
            limit=MAX_LINE,
            start_new_session=True,
        )
        reply = await self._exchange({"source": self.source}, START_TIMEOUT_S + self.timeout_s)
        if reply.error is not None:
            if reply.kind == "runtime":
                self._load_error = reply.error  # the source itself is broken: every call fails alike
            await self._kill()
            return reply
        return None

    async def _exchange(self, message: dict[str, Any], timeout: float) -> Outcome:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write((json.dumps(message, ensure_ascii=False) + "\n").encode())
            await proc.stdin.drain()
            line = await asyncio.wait_for(proc.stdout.readline(), timeout)
        except TimeoutError:
            await self._kill()
            return Outcome(error=f"grade() did not return within {self.timeout_s:g} s")
        except (BrokenPipeError, ConnectionResetError, ValueError, asyncio.LimitOverrunError) as exc:
            await self._kill()
            return Outcome(error=f"the grader process stopped: {type(exc).__name__}", kind="server")
        if not line:
            code = await self._kill()
            why = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
            return Outcome(error=f"the grader process ended ({why}; memory limit {self.memory_mb} MB)")
        try:
            reply = json.loads(line)
        except ValueError:
            return Outcome(error="the grader process wrote something that is not a reply", kind="server")
        if "error" in reply:
            return Outcome(error=str(reply["error"]))
        if reply.get("ready"):
            return Outcome()
        return Outcome(score=float(reply["score"]))

    async def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        code = None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            code = await proc.wait()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        return code

    async def run(self, sample: dict[str, Any], item: dict[str, Any]) -> Outcome:
        if self._load_error is not None:
            return Outcome(error=self._load_error)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._proc is None or self._proc.returncode is not None:
                failed = await self._start()
                if failed is not None:
                    return failed
            try:
                payload = json.loads(json.dumps({"sample": sample, "item": item}, default=str))
            except (TypeError, ValueError) as exc:
                return Outcome(error=f"the item cannot be sent to the grader: {exc}", kind="server")
            return await self._exchange(payload, self.timeout_s)

    async def aclose(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(Exception):
                self._proc.stdin.close()
        await self._kill()
