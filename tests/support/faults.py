"""A fault-injecting HTTP proxy for 127.0.0.1: put it in front of `ftui serve` (or any server) and
make the next N matching requests slow, answered 429 or 500, or cut off.

    proxy = FaultProxy("127.0.0.1", server_port).start()
    proxy.inject(Fault("429", count=2, route=r"/fine_tuning/jobs$", method="POST"))
    client = openai.OpenAI(base_url=proxy.url, ...)

Kinds: `latency` (sleep `delay` seconds, then forward), `429` (with Retry-After), `500`,
`drop_request` (close the connection before forwarding: the server never sees it) and
`drop_response` (forward, let the server act, then close without answering: the case where a
retried create must not make a second job). Each connection carries one request (the proxy answers
`Connection: close`), which keeps it a plain byte pipe for everything it does not touch.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["latency", "429", "500", "drop_request", "drop_response"]


@dataclass
class Fault:
    kind: FaultKind
    count: int = 1
    route: str | None = None  # regex searched in the request path
    method: str | None = None
    delay: float = 0.2  # latency, seconds
    retry_after: float = 0.05  # 429, seconds (sent as retry-after-ms and retry-after)

    def matches(self, method: str, path: str) -> bool:
        return (
            self.count > 0
            and (self.method is None or self.method == method)
            and (self.route is None or re.search(self.route, path) is not None)
        )


@dataclass
class Seen:
    method: str
    path: str
    fault: str | None


@dataclass
class FaultProxy:
    upstream_host: str
    upstream_port: int
    host: str = "127.0.0.1"
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- control (from any thread) ------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def injected(self, kind: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.fault and (kind is None or s.fault == kind)]

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    self.seen.append(Seen(method, path, fault.kind))
                    return fault
            self.seen.append(Seen(method, path, None))
            return None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- running ------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(asyncio.start_server(self._handle, self.host, 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="ftui-fault-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one connection, one request ------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            method, path, raw = request
            fault = self._take(method, path)
            kind = fault.kind if fault else None
            if fault and kind == "latency":
                await asyncio.sleep(fault.delay)
            if kind == "drop_request":
                return
            if fault and kind in ("429", "500"):
                writer.write(_error_response(kind, fault.retry_after))
                await writer.drain()
                return
            await self._forward(raw, writer, drop=kind == "drop_response")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _forward(self, raw: bytes, writer: asyncio.StreamWriter, drop: bool) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        try:
            up_writer.write(raw)
            await up_writer.drain()
            head = await up_reader.readuntil(b"\r\n\r\n")
            if drop:
                # Let the server finish its side, then vanish without a word.
                while await up_reader.read(65536):
                    pass
                return
            writer.write(_with_close(head))
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            up_writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = [line for line in lines[1:] if line]
    names = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip() for h in headers}
    body = b""
    if "content-length" in names:
        body = await reader.readexactly(int(names["content-length"]))
    elif names.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            body += size_line + await reader.readexactly(size + 2)
            if size == 0:
                break
    kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in ("connection", "keep-alive")]
    raw = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1") + body
    return method, target.split("?", 1)[0], raw


def _with_close(head: bytes) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    hop_by_hop = ("connection:", "keep-alive:")
    kept = [line for line in lines[1:] if line and not line.lower().startswith(hop_by_hop)]
    return "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")


def _error_response(kind: str, retry_after: float) -> bytes:
    if kind == "429":
        status, body = (
            "429 Too Many Requests",
            {
                "error": {
                    "message": "Rate limit reached (injected by the fault proxy).",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
        )
        extra = [f"retry-after-ms: {int(retry_after * 1000)}", f"retry-after: {max(1, round(retry_after))}"]
    else:
        status, body = (
            "500 Internal Server Error",
            {
                "error": {
                    "message": "The server had an error (injected by the fault proxy).",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        )
        extra = []
    data = json.dumps(body).encode()
    head = [
        f"HTTP/1.1 {status}",
        "content-type: application/json",
        f"content-length: {len(data)}",
        "x-request-id: req_fault",
        *extra,
        "Connection: close",
        "",
        "",
    ]
    return "\r\n".join(head).encode("latin-1") + data
