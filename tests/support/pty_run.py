"""Run a command on a real pseudo-terminal and answer its questions, as a person at a terminal does."""

from __future__ import annotations

import os
import pty
import select
import time
from dataclasses import dataclass


@dataclass
class PtyResult:
    code: int
    output: str  # everything written to the terminal (stdout and stderr together), escapes removed


def run_in_pty(argv: list[str], answers: dict[str, str] | None = None, timeout: float = 120) -> PtyResult:
    """Each `answers` key is text to wait for; its value is typed (with Enter) once it appears."""
    pending = dict(answers or {})
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout and stderr
        os.execvpe(argv[0], argv, os.environ)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
                seen = b"".join(chunks).decode(errors="replace")
                for prompt, answer in list(pending.items()):
                    if prompt in seen:
                        os.write(fd, (answer + "\n").encode())
                        del pending[prompt]
            else:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return PtyResult(os.waitstatus_to_exitcode(status), _text(chunks))
        else:
            os.kill(pid, 9)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return PtyResult(os.waitstatus_to_exitcode(status), _text(chunks))


def _text(chunks: list[bytes]) -> str:
    import re

    raw = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
