"""`ftui web` serves the app page on localhost and starts nothing until a browser connects."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

from ftui.cli.web import app_command
from ftui.session import Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ftui_web_serves_the_app_page_on_localhost() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftui", "web", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = ""
        for _ in range(150):  # bounded wait for the server to start; not a timing assertion
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    assert resp.status == 200
                    body = resp.read().decode()
                    break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read() if proc.stderr else "exited") from None
                time.sleep(0.2)
        assert "ftui" in body
    finally:
        proc.terminate()
        proc.wait(10)


def test_web_runs_this_interpreter_with_same_config_and_profile(tmp_path) -> None:
    session = Session(tmp_path / "c.toml", "prod")
    command = app_command(session)
    assert command.startswith(sys.executable)
    assert "--config" in command and "--profile prod" in command


def test_bad_profile_fails_before_serving(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ftui", "--profile", "nope", "web", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "nope" in out.stderr and "Traceback" not in out.stderr
