"""Chat on `ftui serve` is shared and bounded: replies take turns token by token, a reply never asks
for more than the model's context, a client that hangs up stops its generation, and a SIGTERM
ends the server promptly even in the middle of a long reply (tiny-llama, real generation)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx2
import pytest
from ftui_local import generate
from support.eventually import eventually_sync
from support.serve_harness import serve

LONG = {"temperature": 0, "max_tokens": 10**9}  # greedy tiny-llama runs to its context: seconds
HI = [{"role": "user", "content": "hi"}]
AUTH = {"authorization": "Bearer test-key"}


def generating() -> int:
    return generate.live()


def test_a_reply_is_capped_to_what_the_context_leaves() -> None:
    assert generate.budget(2048, 20, 10**12) == 2028
    assert generate.budget(2048, 20, 5) == 5
    request = generate.Request("tiny-llama", None, HI, lambda item: None, max_tokens=10**12, device="cpu")
    generate.submit(request)
    eventually_sync(lambda: request.max_tokens, lambda n: n < 2048, what="the request capped", timeout=120)
    request.cancel()
    eventually_sync(generating, lambda n: n == 0, what="the capped request ended", timeout=60)


def test_a_prompt_longer_than_the_context_is_a_400_naming_messages(local_provider) -> None:
    with serve(local_provider) as s:
        r = httpx2.post(
            s.url + "/chat/completions",
            json={"model": "tiny-llama", "messages": [{"role": "user", "content": "word " * 3000}]},
            headers=AUTH,
            timeout=120,
        )
        assert r.status_code == 400
        assert (
            r.json()["error"]["code"] == "context_length_exceeded"
            and r.json()["error"]["param"] == "messages"
        )


def test_a_short_chat_is_answered_while_a_long_one_is_still_generating(local_provider) -> None:
    started = threading.Event()
    frames: list[str] = []

    with serve(local_provider, check=False) as s:

        def long_chat() -> None:
            body = {"model": "tiny-llama", "messages": HI, "stream": True, **LONG}
            with httpx2.stream(
                "POST", s.url + "/chat/completions", json=body, headers=AUTH, timeout=300
            ) as r:
                for line in r.iter_lines():
                    frames.append(line)
                    started.set()

        client = threading.Thread(target=long_chat, daemon=True)
        client.start()
        assert started.wait(120)
        short = httpx2.post(
            s.url + "/chat/completions",
            json={"model": "tiny-llama", "messages": HI, "max_tokens": 3, "temperature": 0},
            headers=AUTH,
            timeout=300,
        )
        assert short.status_code == 200
        # One generation lock would have held the short chat until the long one ended.
        eventually_sync(
            generating,
            lambda n: n == 1,  # the short one's thread may take a moment to leave
            fail=lambda n: "the long reply had ended first" if n == 0 else None,
            what="only the long reply still generating",
        )
        assert not any("[DONE]" in f for f in frames)
    # Stopping the server ends the long reply too.
    client.join(60)
    assert [f for f in frames if f][-1] == "data: [DONE]"
    eventually_sync(generating, lambda n: n == 0, what="the long generation stopped", timeout=30)


def test_a_streaming_client_that_hangs_up_stops_its_generation(local_provider) -> None:
    with serve(local_provider, check=False) as s:
        body = {"model": "tiny-llama", "messages": HI, "stream": True, **LONG}
        with httpx2.stream("POST", s.url + "/chat/completions", json=body, headers=AUTH, timeout=120) as r:
            next(r.iter_lines())
            assert generating() == 1
        eventually_sync(generating, lambda n: n == 0, what="the generation stopped", timeout=30)


def test_a_plain_client_that_hangs_up_stops_its_generation(local_provider) -> None:
    with serve(local_provider, check=False) as s:
        port = int(s.url.split(":")[2].split("/")[0])
        body = json.dumps({"model": "tiny-llama", "messages": HI, **LONG}).encode()
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(head + body)
        eventually_sync(generating, lambda n: n == 1, what="the generation started", timeout=60)
        sock.close()
        eventually_sync(generating, lambda n: n == 0, what="the generation stopped", timeout=30)


@pytest.mark.slow
def test_sigterm_mid_reply_ends_the_stream_cleanly_and_the_server_promptly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftui", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    guard = threading.Timer(300, proc.kill)  # a server that never starts must not hang the suite
    guard.start()
    try:
        port = None
        log: list[str] = []
        for line in proc.stderr:  # type: ignore[union-attr]
            log.append(line)
            if "Uvicorn running on" in line:
                port = int(line.rsplit(":", 1)[1].split()[0])
                break
        assert port, "".join(log)
        body = {"model": "tiny-llama", "messages": HI, "stream": True, **LONG}
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        with httpx2.stream("POST", url, json=body, timeout=120) as r:
            lines = r.iter_lines()
            next(lines)
            proc.send_signal(signal.SIGTERM)
            rest = [line for line in lines if line]
        assert rest[-1] == "data: [DONE]"
        assert json.loads(rest[-2][len("data: ") :])["error"]["code"] == "server_shutting_down"
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught
        log += proc.stderr.readlines()  # type: ignore[union-attr]
        assert not any("graceful shutdown exceeded" in line for line in log), "".join(log)
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
