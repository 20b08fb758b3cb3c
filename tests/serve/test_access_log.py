"""A key pasted into a query string never reaches `ftui serve`'s access log."""

from __future__ import annotations

import subprocess
import sys
import threading

import httpx2

KEY = "sk-proj-abcdefghijklmnop1234567890"


def test_query_string_secrets_are_masked_in_the_access_log() -> None:
    # uvicorn logs requests to stdout and everything else to stderr: one pipe for both.
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftui", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    guard = threading.Timer(120, proc.kill)  # a server that never logs must not hang the suite
    guard.start()
    try:
        lines: list[str] = []
        port = None
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "Uvicorn running on" in line:
                port = int(line.rsplit(":", 1)[1].split()[0])
                break
        assert port, "".join(lines)
        url = f"http://127.0.0.1:{port}/v1"
        httpx2.get(url + "/models", params={"api_key": "plain-named-secret", "limit": "3"})
        httpx2.get(url + "/files", params={"after": KEY})
        httpx2.get(url + "/models/marker-request-done")
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "marker-request-done" in line:
                break
    finally:
        guard.cancel()
        proc.terminate()
        proc.wait(30)
    log = "".join(lines)
    assert "GET /v1/models?api_key=***&limit=3" in log
    assert "plain-named-secret" not in log and KEY not in log
