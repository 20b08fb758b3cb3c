"""`ftui web`: the page on localhost, a session in a real headless Chromium, and no session process left
after its tab closes or its server stops; a key off loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.eventually import eventually_sync

from ftui.cli.web import app_command
from ftui.session import Session

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start_web(*args: str, cwd: Path | None = None) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftui", "web", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read() if proc.stderr else "ftui web exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    eventually_sync(up, what="ftui web listening", interval=0.1, timeout=120)
    return proc, port


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    (tmp_path / "work").mkdir()
    proc, port = start_web(cwd=tmp_path / "work")  # a folder with no datasets: the samples are listed
    yield proc, port
    if proc.poll() is None:
        proc.terminate()
        proc.wait(30)


def session_processes(server_pid: int) -> list[Any]:
    import psutil

    try:
        return psutil.Process(server_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(processes: list[Any]) -> list[int]:
    import psutil

    out = []
    for p in processes:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.NoSuchProcess:
            continue
    return out


def test_ftui_web_serves_the_app_page_on_localhost(web) -> None:
    _proc, port = web
    status, body = get(f"http://127.0.0.1:{port}/")
    assert status == 200 and "ftui" in body


def test_web_runs_this_interpreter_with_same_config_and_profile(tmp_path) -> None:
    session = Session(tmp_path / "c.toml", "prod")
    argv = app_command(session)
    assert argv[0] == sys.executable
    assert "--config" in argv and argv[argv.index("--profile") + 1] == "prod"


def test_bad_profile_fails_before_serving(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ftui", "--profile", "nope", "web", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "nope" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("key", [None, "x", "short-key-15chr"])
def test_a_public_bind_needs_a_real_key(key: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FTUI_WEB_KEY"}
    if key:
        env["FTUI_WEB_KEY"] = key
    out = subprocess.run(
        [sys.executable, "-m", "ftui", "web", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "key" in out.stderr and (key is None or key not in out.stderr)


def test_with_a_key_every_request_needs_it_and_the_browser_gets_a_cookie() -> None:
    key = "k" * 12 + "-secret-key"
    proc, port = start_web("--key", key)
    try:
        base = f"http://127.0.0.1:{port}"
        assert get(f"{base}/")[0] == 401
        assert get(f"{base}/?key=wrong-{key}")[0] == 401
        assert get(f"{base}/static/js/textual.js")[0] == 401
        assert get(f"{base}/", {"Authorization": f"Bearer {key}"})[0] == 200

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as first:
            opener.open(f"{base}/?key={key}", timeout=5)
        assert first.value.code == 303 and first.value.headers["Location"] == "/"
        cookie = first.value.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert get(f"{base}/", {"Cookie": cookie.split(";")[0]})[0] == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert key not in out + err  # neither the banner nor an access log shows it


def test_a_websocket_from_another_site_is_refused(web) -> None:
    _proc, port = web
    status, _ = get(
        f"http://127.0.0.1:{port}/ws",
        {
            "Origin": "http://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert status == 403


# ---- a real browser -------------------------------------------------------------------------


class Screen:
    """What the browser's terminal shows: the bytes the session sent it, through a VT emulator."""

    def __init__(self) -> None:
        import pyte

        self.screen = pyte.Screen(200, 60)
        self.stream = pyte.ByteStream(self.screen)

    def feed(self, payload: bytes | str) -> None:
        self.stream.feed(payload if isinstance(payload, bytes) else payload.encode())

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("pyte", reason="pyte is not installed")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile every time
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1100, "height": 700},
        )
        try:
            yield context
        finally:
            context.close()


def open_session(browser: Any, port: int) -> tuple[Any, Screen]:
    screen = Screen()
    page = browser.new_page()
    page.on("websocket", lambda ws: ws.on("framereceived", screen.feed))
    page.goto(f"http://127.0.0.1:{port}/")
    return page, screen


def shows(page: Any, screen: Screen, *words: str, timeout: float = 120) -> None:
    eventually_sync(
        lambda: (page.wait_for_timeout(100), screen.text)[1],  # lets the browser deliver frames
        lambda text: all(w in text for w in words),
        what=f"the browser's terminal shows {words}",
        timeout=timeout,
        interval=0.05,
    )


@pytest.mark.slow
def test_a_browser_session_shows_the_four_panes_takes_keys_and_ends_with_its_tab(web, browser) -> None:
    proc, port = web
    page, screen = open_session(browser, port)
    shows(page, screen, "Datasets", "Jobs", "Metrics", "Playground")
    sessions = session_processes(proc.pid)
    assert alive(sessions), "no session process while the tab is open"

    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.press("3")
    shows(page, screen, "no job selected")
    page.keyboard.press("1")
    shows(page, screen, "sample/pirate_chat.jsonl")

    page.close()
    eventually_sync(
        lambda: alive(sessions), lambda pids: not pids, what="session processes ended", timeout=30
    )
    assert proc.poll() is None  # the server goes on for the next tab


@pytest.mark.slow
def test_stopping_ftui_web_ends_the_sessions_of_open_tabs(web, browser) -> None:
    proc, port = web
    page, screen = open_session(browser, port)
    shows(page, screen, "Jobs")
    sessions = session_processes(proc.pid)
    assert alive(sessions)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    eventually_sync(
        lambda: alive(sessions), lambda pids: not pids, what="session processes ended", timeout=30
    )


def test_a_session_whose_server_is_killed_exits(tmp_path: Path) -> None:
    """The app's end of the pipe: its server gone without a word (SIGKILL), it must exit, not spin."""
    env = {
        **os.environ,
        "TEXTUAL_DRIVER": "ftui.tui.web_driver:FtuiWebDriver",
        "COLUMNS": "80",
        "ROWS": "24",
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "ftui"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )
    assert app.stdout is not None and app.stdin is not None
    assert app.stdout.readline() == b"__GANGLION__\n"  # the app is up and drawing
    app.stdin.close()
    app.stdout.close()
    assert app.wait(60) is not None


async def test_a_session_that_ignores_quit_and_sigterm_is_killed_with_what_it_started() -> None:
    import psutil
    from textual_serve.download_manager import DownloadManager

    from ftui.tui.web import Session

    stubborn = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])\n"
        "print('__GANGLION__', flush=True)\n"
        "time.sleep(600)\n"
    )

    async def ignore(*_: Any) -> None:
        return None

    session = Session(
        [sys.executable, "-c", stubborn],
        write_bytes=ignore,
        write_str=ignore,
        close=ignore,
        download_manager=DownloadManager(),
    )
    await session.start(80, 24)
    assert session.pid is not None
    leader = psutil.Process(session.pid)
    family = [leader, *eventually_sync(lambda: leader.children(recursive=True), what="its child started")]
    await session.end()
    assert alive(family) == []
