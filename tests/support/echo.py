"""The example plugin (plugins/ftui-echo), installed the way a user installs it, for tests that drive
ftui against its fake jobs and deployments backend.

`install_echo(tmp)` pip-installs it into a folder once per test session; `use_echo(...)` puts that
folder on the path of this process (registry rebuilt) and of every `ftui` child process, and makes
an `echo` profile the active one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def install_echo(target: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(ROOT / "plugins" / "ftui-echo"),
        ],
        check=True,
        capture_output=True,
    )
    return target


def use_echo(site: Path, home: Path, monkeypatch: pytest.MonkeyPatch, deploy_seconds: float = 1.0) -> Path:
    """Make the echo profile active here and in child processes; returns the config file."""
    from ftui.plugins import registry

    config = home / "echo-config.toml"
    config.write_text(
        f'default_profile = "echo"\n\n[profiles.echo]\nprovider = "echo"\ndeploy_seconds = {deploy_seconds}\n'
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FTUI_CONFIG", str(config))
    registry.cache_clear()
    return config
