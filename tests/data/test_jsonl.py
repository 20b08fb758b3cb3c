"""The one JSONL reader: what a line is, which files are not JSONL at all, and which paths are
refused before anything blocks on them."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import socket
import zipfile
from pathlib import Path

import pytest

from ftui.data import jsonl
from ftui.errors import FtuiError, UsageError

ROW = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy!"}]}
TEXT = (json.dumps(ROW) + "\n") * 3


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("train.jsonl", data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (gzip.compress(TEXT.encode()), "compressed_file", "gzip file"),
        (bz2.compress(TEXT.encode()), "compressed_file", "bzip2 file"),
        (lzma.compress(TEXT.encode()), "compressed_file", "xz file"),
        (_zip(TEXT.encode()), "compressed_file", "zip archive"),
        (TEXT.encode("utf-16"), "not_utf8", "UTF-16 text"),
        (TEXT.encode("utf-16-le"), "not_utf8", "UTF-16 text"),
        (TEXT.encode("utf-16-be"), "not_utf8", "UTF-16 text"),
        (TEXT.encode("utf-32"), "not_utf8", "UTF-32 text"),
        (b"\x00\x01\x02\x00\x00\x00" * 20, "binary_file", "binary data"),
    ],
    ids=["gzip", "bzip2", "xz", "zip", "utf16-bom", "utf16-le", "utf16-be", "utf32", "binary"],
)
def test_files_that_are_not_utf8_jsonl_are_named_by_what_they_are(body: bytes, code: str, words: str) -> None:
    found = jsonl.not_jsonl(body[: jsonl.HEAD_BYTES])
    assert found is not None and found[0] == code and words in found[1]


@pytest.mark.parametrize(
    "body",
    [TEXT.encode(), b"\xef\xbb\xbf" + TEXT.encode(), "Ünïcödé ✓\n".encode(), b"", b"\n\n", b"{oops"],
)
def test_utf8_text_is_left_to_the_line_checks(body: bytes) -> None:
    assert jsonl.not_jsonl(body[: jsonl.HEAD_BYTES]) is None


def test_a_line_ends_at_lf_only_and_loses_only_json_whitespace_and_a_first_bom() -> None:
    data = b'\xef\xbb\xbf {"a":\r1}\r\n\t[2]\x0c\n\n\xef\xbb\xbf{}'
    lines = jsonl.split_lines(data)
    assert lines == [b'\xef\xbb\xbf {"a":\r1}\r', b"\t[2]\x0c", b"", b"\xef\xbb\xbf{}"]
    texts = [jsonl.line_text(raw, first=i == 0) for i, raw in enumerate(lines)]
    assert texts == [b'{"a":\r1}', b"[2]\x0c", b"", b"\xef\xbb\xbf{}"]
    assert jsonl.parse(texts[0]) == {"a": 1}
    for refused in (texts[1], texts[3], b"NaN", b'{"a": Infinity}', b'"\\ud800"', b'"\xff"'):
        with pytest.raises(ValueError):
            jsonl.parse(refused)
    assert jsonl.count_lines(data) == 3


def test_read_objects_names_the_file_and_line_of_the_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\n{"b":\r2}\n{"c": NaN}\n')
    objects = jsonl.read_objects(path)
    assert next(objects) == (1, {"a": 1}) and next(objects) == (3, {"b": 2})
    with pytest.raises(jsonl.DatasetError, match=rf"^{path}:4: not valid JSON") as err:
        next(objects)
    assert err.value.line == 4


def test_read_objects_refuses_a_gzip_file_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(gzip.compress(TEXT.encode()))
    with pytest.raises(jsonl.DatasetError, match="this is a gzip file") as err:
        list(jsonl.read_objects(path))
    assert err.value.line == 0


def test_duplicate_keys_are_found_at_any_depth_and_only_there() -> None:
    assert jsonl.duplicate_keys(b'{"messages": [], "messages": [1]}') == ["messages"]
    assert jsonl.duplicate_keys(b'{"input": {"messages": [], "messages": []}}') == ["messages"]
    assert jsonl.duplicate_keys(b'{"messages": [{"role": "user", "content": "messages"}]}') == []
    assert jsonl.duplicate_keys(b"{oops") == []


def test_a_fifo_is_refused_at_once_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="is a pipe, not a regular file"):
        jsonl.check_file(fifo)


def test_devices_sockets_folders_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a device"):
        jsonl.check_file(Path("/dev/zero"))
    with pytest.raises(UsageError, match="is a folder"):
        jsonl.check_file(tmp_path)
    with pytest.raises(UsageError, match="no such file"):
        jsonl.check_file(tmp_path / "missing.jsonl")
    sock_path = tmp_path / "s.jsonl"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(FtuiError, match=r"socket|cannot read"):
            jsonl.check_file(sock_path)
