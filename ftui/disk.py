"""A full disk, said in one line that names the disk: which folder could not be written, the
filesystem it is on, and how much room is left there.

ENOSPC and EDQUOT from any write, and SQLite's "database or disk is full", are the same event to a
user: `describe` turns either into that line; everything else is not a full disk (None).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


# SQLite says "disk I/O error" when it cannot create its WAL files on a full disk: with less room
# than this left, that is what it means.
NEARLY_FULL = 1024 * 1024


def is_full(exc: BaseException, where: Path | None = None) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in FULL
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    if "full" in text:
        return True
    if "disk i/o error" in text and where is not None:
        free = free_bytes(where)
        return free is not None and free < NEARLY_FULL
    return False


def mount_point(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(mount_point(path)).free
    except OSError:
        return None


def human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def describe(exc: BaseException, where: Path | None = None) -> str | None:
    """One line for a full disk, naming it; None if `exc` is something else. `where` is the folder
    that was being written when the error carries no file name (SQLite's never does)."""
    if not is_full(exc, where):
        return None
    target = getattr(exc, "filename", None) or where
    if target is None:
        return "the disk is full (no space left on device); free some space and try again"
    target = Path(str(target))
    mount = mount_point(target)
    free = free_bytes(target)
    left = f", {human(free)} free" if free is not None else ""
    return (
        f"the disk is full: cannot write {target} (filesystem {mount}{left}). Free some space there, "
        "or point FTUI_HOME at a disk with room, and try again"
    )
