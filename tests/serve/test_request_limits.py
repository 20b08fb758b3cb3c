"""Bodies are refused from their headers: without the key (401) or over the route's limit (413),
before a byte of the body is read; a body with no declared length is cut off at the limit."""

from __future__ import annotations

import json
import socket

import pytest
from support.serve_harness import serve

MB = 1024 * 1024


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def exchange(port: int, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send the head (and `body`, if any) and read one response. A server that waited for the rest
    of a 600 MB body would never answer: the socket's deadline is the guard."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        header, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            rest += sock.recv(65536)
    status = int(header.split(b" ")[1])
    return status, json.loads(rest[:length])


@pytest.mark.parametrize(
    ("path", "ctype", "declared"),
    [
        ("/v1/files", "multipart/form-data; boundary=b", 600 * MB),
        ("/v1/uploads/upload_x/parts", "multipart/form-data; boundary=b", 70 * MB),
        ("/v1/chat/completions", "application/json", 17 * MB),
        ("/v1/fine_tuning/jobs", "application/json", 17 * MB),
    ],
)
def test_a_body_over_the_route_limit_is_refused_from_its_declared_length(
    local_provider, path: str, ctype: str, declared: int
) -> None:
    with serve(local_provider, check=False) as s:
        head = (
            f"POST {path} HTTP/1.1\nHost: x\nAuthorization: Bearer test-key\n"
            f"Content-Type: {ctype}\nContent-Length: {declared}\n"
        )
        status, body = exchange(_port(s.url), head)
        assert status == 413
        assert body["error"]["code"] == "request_too_large" and "at most" in body["error"]["message"]


def test_a_request_without_the_key_is_refused_before_its_body_is_read(local_provider) -> None:
    with serve(local_provider, api_key="sekrit", check=False) as s:
        head = (
            "POST /v1/files HTTP/1.1\nHost: x\nContent-Type: multipart/form-data; boundary=b\n"
            f"Content-Length: {600 * MB}\n"
        )
        status, body = exchange(_port(s.url), head)
        assert status == 401 and body["error"]["code"] == "missing_api_key"
        wrong = head + "Authorization: Bearer nope\n"
        status, body = exchange(_port(s.url), wrong)
        assert status == 401 and body["error"]["code"] == "invalid_api_key"


def test_a_chunked_body_with_no_length_is_cut_off_at_the_limit(local_provider) -> None:
    with serve(local_provider, check=False) as s:
        chunk = b"x" * MB
        body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
        head = (
            "POST /v1/chat/completions HTTP/1.1\nHost: x\nAuthorization: Bearer test-key\n"
            "Content-Type: application/json\nTransfer-Encoding: chunked\n"
        )
        status, answer = exchange(_port(s.url), head, body)
        assert status == 413 and answer["error"]["code"] == "request_too_large"


def test_a_body_under_the_limit_still_works(local_provider, tmp_path) -> None:
    from support.serve_harness import write_chat_examples

    with serve(local_provider) as s:
        f = s.client().files.create(file=write_chat_examples(tmp_path / "t.jsonl"), purpose="fine-tune")
        assert f.bytes > 0
