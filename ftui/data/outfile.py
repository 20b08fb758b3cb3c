"""Writing dataset outputs safely: never over the input, never over an existing file unasked,
and never a half-written file (write beside, then rename)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ftui.errors import FtuiError, UsageError


def check_output(dst: Path, *, inputs: tuple[Path, ...], force: bool) -> None:
    for src in inputs:
        if dst.resolve() == src.resolve():
            raise UsageError(f"{dst}: refusing to overwrite the input file; choose another output")
    if dst.exists() and not force:
        raise UsageError(f"{dst}: already exists; pass --force to overwrite it")
    if dst.exists() and dst.is_dir():
        raise UsageError(f"{dst}: is a folder")


@contextlib.contextmanager
def atomic_writer(dst: Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at `dst` only if the block finishes without an exception."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent)
    except OSError as exc:
        raise FtuiError(f"{dst}: cannot write there ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
