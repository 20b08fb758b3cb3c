"""Validation in a helper process, for callers whose GIL is shared with a UI event loop.

quicktok's vocabulary load holds the GIL for 0.2 s (cl100k) to 0.7 s (o200k), and parsing in a
thread takes the GIL in 5 ms slices. Run in the TUI's worker thread, validating the 60-line sample
stalled the event loop 577 ms; a 40 MB file stalled it 784 ms and took 2.0 s, against 0.85 s where
the scan can fork its workers. One long-lived helper process keeps the vocabularies loaded between
validations and, having no other threads, forks its own scan workers.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.errors import FtuiError

if TYPE_CHECKING:
    from ftui.data.report import ValidationReport


def _serve(conn: Any) -> None:
    """The helper: one request at a time, progress and the report sent back on the same pipe."""
    # It shares the terminal with the TUI: a stray warning would draw over the screen. Errors go
    # back with the replies.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from ftui.data.validate import validate_path

    while True:
        try:
            path, options = conn.recv()
        except EOFError:
            return
        if path is None:  # warm-up: load the default vocabulary now, before the user picks a file
            from ftui.data.tokens import tokenizer_for

            with contextlib.suppress(Exception):
                getattr(tokenizer_for(None), "encoder", None)
            continue
        try:
            report = validate_path(
                Path(path), progress=lambda done, total: conn.send(("progress", (done, total))), **options
            )
            conn.send(("done", report))
        except Exception as exc:
            error = exc if isinstance(exc, FtuiError) else FtuiError(f"{path}: {type(exc).__name__}: {exc}")
            conn.send(("error", error))


@contextlib.contextmanager
def _real_stderr() -> Iterator[None]:
    """multiprocessing hands `sys.stderr`'s descriptor to its resource tracker; under Textual
    `sys.stderr` is a capture object whose descriptor is -1 ("bad value(s) in fds_to_keep")."""
    saved = sys.stderr
    if sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


class ValidationProcess:
    """`validate(path, progress=..., **validate_path_options)`, run in one helper process.

    A call made while another is running replaces it: the helper is stopped (the earlier call
    raises FtuiError) and a fresh one starts, as a user who picks another file expects."""

    def __init__(self) -> None:
        import multiprocessing

        # spawn: the caller runs threads (Textual's), and forking a threaded process is unsafe.
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Any = None
        self._busy = False
        self._at_exit = False

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        with _real_stderr():
            proc = self._ctx.Process(target=_serve, args=(child,), name="ftui-validate")
            proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        if not self._at_exit:
            atexit.register(self.close)  # before multiprocessing's own hook, which would wait for it
            self._at_exit = True

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join(5)
            self._conn.close()
        self._proc = self._conn = None
        self._busy = False

    def warm(self) -> None:
        """Start the helper and load the default vocabulary, without waiting for either."""
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._stop()
                self._start()
                self._conn.send((None, {}))

    def validate(
        self, path: Path, *, progress: Callable[[int, int], None] | None = None, **options: Any
    ) -> ValidationReport:
        with self._lock:
            if self._busy:
                self._stop()
            if self._proc is None or not self._proc.is_alive():
                self._stop()
                self._start()
            conn = self._conn
            self._busy = True
            conn.send((str(path), options))
        try:
            while True:
                kind, payload = conn.recv()
                if kind == "progress":
                    if progress is not None:
                        progress(*payload)
                elif kind == "done":
                    return payload
                else:
                    raise payload
        except (EOFError, OSError):
            raise FtuiError(
                f"{path}: validation stopped before the end (a newer one replaced it, or its process ended)"
            ) from None
        finally:
            with self._lock:
                if self._conn is conn:
                    self._busy = False

    def close(self) -> None:
        with self._lock:
            self._stop()


_shared: ValidationProcess | None = None
_shared_lock = threading.Lock()


def shared() -> ValidationProcess:
    """The process-wide helper, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ValidationProcess()
        return _shared
