"""Run the app with uvicorn: in the foreground for `ftui serve`, or in a thread on a free port.

Shutdown (SIGTERM, Ctrl-C, `stop()`) is prompt: the app's long requests (replies being generated)
are cancelled first, so uvicorn is not left waiting on a reply that could take minutes.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from ftui.errors import UsageError

GRACE_S = 3  # for requests still in flight once long work was stopped


def stopper(app: Any) -> Any:
    """The app's `ServeContext.stop_work`, through wrappers that keep the app as `.app`."""
    while app is not None:
        ctx = getattr(getattr(app, "state", None), "ctx", None)
        if ctx is not None:
            return ctx.stop_work
        app = getattr(app, "app", None)
    return None


def server(app: Any, **config: Any) -> Any:
    """A uvicorn Server for `app` whose shutdown stops the app's long work first."""
    import uvicorn

    stop_work = stopper(app)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            if stop_work is not None:
                stop_work()
            await super().shutdown(sockets)

    from ftui.serve.logs import redact_access_log

    config.setdefault("timeout_graceful_shutdown", GRACE_S)
    made = Server(uvicorn.Config(app, **config))  # configures uvicorn's loggers
    redact_access_log()
    return made


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: str | None) -> None:
    """Refuse to put an unauthenticated training endpoint on the network."""
    if not api_key and not is_loopback(host):
        raise UsageError(
            f"refusing to serve on {host} without an API key: anyone who can reach it could train, "
            "read files and delete models. Pass --api-key KEY (or set FTUI_API_KEY), or bind to "
            "127.0.0.1."
        )


class BackgroundServer:
    """uvicorn in a daemon thread, on a port the OS picks; `url` ends in /v1."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.server = server(app, host=host, port=port, log_level="warning", lifespan="on")
        self.thread = threading.Thread(target=self.server.run, name="ftui-serve", daemon=True)

    def start(self) -> BackgroundServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server thread stopped before it started")
            self.thread.join(0.02)
        return self

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
