from __future__ import annotations

import subprocess
import sys

import pytest

from ftui import __version__

COMMANDS = [
    "providers",
    "config",
    "data",
    "files",
    "jobs",
    "chat",
    "eval",
    "graders",
    "serve",
    "web",
    "deploy",
    "deployments",
    "undeploy",
]


def ftui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ftui", *args], capture_output=True, text=True)


def test_help_lists_every_command_group() -> None:
    out = ftui("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert f"  {name}" in out.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help(name: str) -> None:
    out = ftui(name, "--help")
    assert out.returncode == 0, out.stderr
    assert "Usage:" in out.stdout


def test_version() -> None:
    out = ftui("--version")
    assert out.returncode == 0 and __version__ in out.stdout


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    out = ftui("frobnicate")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "frobnicate" in out.stderr
