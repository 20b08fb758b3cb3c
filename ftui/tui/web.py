"""`ftui web`'s server: textual-serve, with sessions that end with their tab or their server, and a key.

textual-serve starts one app process per browser tab through a shell and leaves it to the app to go.
Here each session is the app itself (no shell between), in its own process group, under
`FtuiWebDriver` (which exits when its pipe closes); when the tab's websocket ends, or the server
stops, the session is asked to quit, then its whole group (the app and any helper it started) is
terminated, then killed. Nothing a session started is left behind.

Off loopback a key is required (`ftui web` refuses to start without one): a browser opens
`/?key=KEY` once, gets it as an HttpOnly, SameSite=Strict cookie and is sent back to `/`; a script
may send `Authorization: Bearer KEY`. The websocket also has to come from this server's own page (its
Origin must match its Host), so no other site open in the same browser can drive the session, on
loopback too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import signal
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

COOKIE = "ftui_web_key"
DRIVER = "ftui.tui.web_driver:FtuiWebDriver"
QUIT_GRACE_S = 5.0  # for the app to quit when asked, before its group is terminated
TERM_GRACE_S = 3.0  # after SIGTERM, before SIGKILL
log = logging.getLogger("ftui.web")


class Session(AppService):
    """One browser tab's app process: argv run directly, in a process group of its own."""

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width, height)
        env["TEXTUAL_DRIVER"] = DRIVER
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def end(self) -> None:
        """Ask the app to quit; terminate, then kill, its whole process group if it does not."""
        process = self._process
        if process is None:
            return
        if process.returncode is None and self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.stop(), QUIT_GRACE_S)
        for sig, grace in ((signal.SIGTERM, TERM_GRACE_S), (signal.SIGKILL, None)):
            # The group too: the app's helper processes (dataset validation) share it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
                if sig == signal.SIGTERM and process.returncode is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)  # whatever it left in its group
                break
            except TimeoutError:
                continue
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None


def same_origin(request: web.Request) -> bool:
    """A browser's websocket names the page that opened it; it must be this server's page."""
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser: nothing of the user's can be borrowed
        return True
    return urlsplit(origin).netloc == request.host


class WebServer(Server):
    def __init__(self, argv: list[str], *, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.key = key
        self.sessions: set[Session] = set()
        self.sockets: set[web.WebSocketResponse] = set()

    # -- authentication -----------------------------------------------------------------------
    def _key_ok(self, given: str | None) -> bool:
        if not given or self.key is None:
            return False
        return hmac.compare_digest(given.encode(), self.key.encode())

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.key is None:
            return await handler(request)
        bearer = request.headers.get("Authorization", "")
        if self._key_ok(request.cookies.get(COOKIE)) or (
            bearer.startswith("Bearer ") and self._key_ok(bearer[len("Bearer ") :])
        ):
            return await handler(request)
        if request.path == "/" and self._key_ok(request.query.get("key")):
            # The key leaves the address bar (and the history) at once; the cookie carries it on.
            response = web.Response(status=303, headers={"Location": "/"})
            response.set_cookie(COOKIE, self.key, httponly=True, samesite="Strict", path="/")
            return response
        return web.Response(
            status=401,
            text="ftui web needs its key: open this address once with ?key=KEY added (its key)\n",
        )

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._auth)
        return app

    # -- sessions -----------------------------------------------------------------------------
    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not same_origin(request):
            raise web.HTTPForbidden(text="websocket from another site refused\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        session = Session(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        await websocket.prepare(request)
        self.sockets.add(websocket)
        self.sessions.add(session)
        try:
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("session %s", session.pid)
        finally:
            self.sockets.discard(websocket)
            await session.end()
            self.sessions.discard(session)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
        # As textual-serve's, but a malformed message from the page is skipped, not a crash.
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
                kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                width, height = to_int(str(data.get("width")), 80), to_int(str(data.get("height")), 24)
                await app_service.set_terminal_size(width, height)
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    async def on_shutdown(self, app: web.Application) -> None:
        # Close every tab's websocket first: aiohttp would otherwise wait for each to end by itself.
        for websocket in list(self.sockets):
            with contextlib.suppress(Exception):
                await websocket.close(code=1001, message=b"server stopping")
        await asyncio.gather(*(s.end() for s in list(self.sessions)), return_exceptions=True)

    async def on_startup(self, app: web.Application) -> None:
        """Quiet: `ftui web` prints its own banner."""

    def serve(self, debug: bool = False) -> None:
        self.debug = debug
        logging.basicConfig(level=logging.WARNING, format="ftui web: %(message)s")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        def stop() -> None:
            raise GracefulExit()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        # No access log: a first request carries the key in its query string.
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=None,
            access_log=None,
            shutdown_timeout=QUIT_GRACE_S + TERM_GRACE_S + 2,
        )
