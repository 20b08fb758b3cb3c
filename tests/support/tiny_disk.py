"""A real full disk for tests: a script run in a private mount namespace where a small tmpfs is
mounted at `$DISK` and `FTUI_HOME` lives on it. Writes there fail with the kernel's own ENOSPC;
nothing outside the namespace sees the mount.

Needs `unshare` and permission to mount (root, or unprivileged user namespaces); tests skip where
neither is there.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@functools.cache
def _unshare() -> list[str] | None:
    if shutil.which("unshare") is None:
        return None
    for cmd in (["unshare", "-m"], ["unshare", "-rm"]):
        probe = subprocess.run(
            [*cmd, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || exit 3"],
            capture_output=True,
        )
        if probe.returncode == 0:
            return cmd
    return None


def on_tiny_disk(
    disk: Path, size: str, script: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run bash `script` with a `size` tmpfs at `disk` ($DISK), FTUI_HOME=$DISK/home and `ftui`
    meaning this checkout's entry point. Returns the finished process (stdout, stderr as text)."""
    cmd = _unshare()
    if cmd is None:
        pytest.skip("no mount namespace here: a real full disk needs unshare and mount rights")
    disk.mkdir(parents=True, exist_ok=True)
    prologue = (
        "set -u\n"
        f"mount -t tmpfs -o size={size} tmpfs {disk}\n"
        f"export DISK={disk} FTUI_HOME={disk}/home\n"
        f'ftui() {{ {sys.executable} -m ftui "$@"; }}\n'
        "fill() { dd if=/dev/zero of=$DISK/fill bs=64k 2>/dev/null; true; }\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FTUI_HOME"}
    return subprocess.run(
        [*cmd, "bash", "-c", prologue + script], capture_output=True, text=True, timeout=timeout, env=env
    )
