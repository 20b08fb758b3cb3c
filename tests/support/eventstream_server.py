"""A SageMaker runtime endpoint on 127.0.0.1 that streams replies in real AWS event-stream frames.

moto does not route `InvokeEndpointWithResponseStream`. This server answers
`POST /endpoints/NAME/invocations-response-stream` the way SageMaker does: HTTP chunks of
`application/vnd.amazon.eventstream` messages (prelude with lengths and CRC32, headers, payload,
message CRC32), each a `PayloadPart` carrying some bytes of the model server's SSE output, cut at
awkward places (mid-line, mid-JSON, inside a UTF-8 character). botocore's own parser reads them.

The reply is a fake TGI chat: "Echo: " and the last user message, a word per chunk. Set `fail_with`
to end a stream with a `ModelStreamError` exception frame instead.
"""

from __future__ import annotations

import binascii
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack("B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    )


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + head + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def payload_part(data: bytes) -> bytes:
    return frame(
        {":message-type": "event", ":event-type": "PayloadPart", ":content-type": "application/octet-stream"},
        data,
    )


def stream_error(message: str) -> bytes:
    body = json.dumps({"Message": message, "ErrorCode": "ModelError"}).encode()
    return frame(
        {
            ":message-type": "exception",
            ":exception-type": "ModelStreamError",
            ":content-type": "application/json",
        },
        body,
    )


def sse_reply(text_pieces: list[str]) -> bytes:
    out = b""
    for i, piece in enumerate(text_pieces):
        chunk = {
            "object": "chat.completion.chunk",
            "id": "",
            "model": "/opt/ml/model",
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}
            ],
            "usage": None,
        }
        if i == len(text_pieces) - 1:
            chunk["choices"][0]["finish_reason"] = "stop"
        out += b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
    return out + b"data: [DONE]\n\n"


def awkward_cuts(data: bytes, sizes: tuple[int, ...] = (7, 1, 13, 2, 31, 5)) -> list[bytes]:
    """Pieces of uneven sizes, so lines, JSON and UTF-8 characters all break somewhere."""
    parts, at, i = [], 0, 0
    while at < len(data):
        size = sizes[i % len(sizes)]
        parts.append(data[at : at + size])
        at, i = at + size, i + 1
    return parts


class StreamingEndpoint:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with: str | None = None
        self.parts_sent = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "endpoints" or parts[2] != "invocations-response-stream":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                owner.requests.append({"endpoint": parts[1], "body": body, "headers": dict(self.headers)})
                last = next(
                    (m["content"] for m in reversed(body.get("messages", [])) if m["role"] == "user"), ""
                )
                words = ("Echo: " + last).split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                frames = [payload_part(p) for p in awkward_cuts(sse_reply(pieces))]
                if owner.fail_with:
                    frames = [*frames[:3], stream_error(owner.fail_with)]
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                self.send_header("X-Amzn-SageMaker-Content-Type", "text/event-stream")
                self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for f in frames:
                    self.wfile.write(f"{len(f):x}\r\n".encode() + f + b"\r\n")
                    self.wfile.flush()
                    owner.parts_sent += 1
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
