"""How ftui reads a JSONL dataset. Every reader uses this: validation, the local trainer, convert,
split and `ftui serve`'s upload check, so that a file that validates is a file that trains.

- A line ends at b"\\n" only. A carriage return is JSON whitespace (Windows line ends, or a CR
  between two tokens), never a line end; Unicode line separators are text.
- JSON's whitespace (space, tab, CR, LF) around a line is not part of it; any other byte is (a form
  feed is whitespace to Python, not to JSON, and OpenAI refuses the line).
- The file's first line may start with a UTF-8 byte-order mark (Windows and Excel exports); it is
  skipped there and nowhere else.
- A line is parsed as strict JSON: UTF-8 only, no NaN or Infinity, no lone surrogates.
- Only regular files are read: a FIFO would block the reader forever, and a pipe or a device has
  no size to cut into chunks.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ftui.errors import FtuiError, UsageError

BOM = b"\xef\xbb\xbf"
WHITESPACE = b" \t\r\n"  # JSON's whitespace, RFC 8259 section 2
MAX_LINE_BYTES = 64 << 20  # a longer line is reported, never read into memory

# Files that are not UTF-8 JSONL, told apart by their first bytes: (magic, code, what, how to fix).
_DECOMPRESS = "decompress it first, e.g. `{} FILE > FILE.jsonl`"
_TO_UTF8 = "training files must be UTF-8: `iconv -f {} -t UTF-8 FILE > FILE.jsonl`"
_MAGIC = (
    (b"\x1f\x8b", "compressed_file", "a gzip file", _DECOMPRESS.format("gunzip -c")),
    (b"BZh", "compressed_file", "a bzip2 file", _DECOMPRESS.format("bunzip2 -c")),
    (b"\xfd7zXZ\x00", "compressed_file", "an xz file", _DECOMPRESS.format("unxz -c")),
    (b"\x28\xb5\x2f\xfd", "compressed_file", "a zstd file", _DECOMPRESS.format("unzstd -c")),
    (b"PK\x03\x04", "compressed_file", "a zip archive", "extract the JSONL file from it first"),
    (b"\xff\xfe\x00\x00", "not_utf8", "UTF-32 text", _TO_UTF8.format("UTF-32")),
    (b"\x00\x00\xfe\xff", "not_utf8", "UTF-32 text", _TO_UTF8.format("UTF-32")),
    (b"\xff\xfe", "not_utf8", "UTF-16 text", _TO_UTF8.format("UTF-16")),
    (b"\xfe\xff", "not_utf8", "UTF-16 text", _TO_UTF8.format("UTF-16")),
)
HEAD_BYTES = 64


def not_jsonl(head: bytes) -> tuple[str, str] | None:
    """(code, one sentence) when a file starting with `head` cannot be UTF-8 JSONL, else None."""
    for magic, code, what, fix in _MAGIC:
        if head.startswith(magic):
            return code, f"this is {what}, not UTF-8 JSONL; {fix}"
    # No JSON text holds a NUL byte. UTF-16 without a byte-order mark is ASCII with a NUL beside
    # every character, all on the same side.
    sample = head[:HEAD_BYTES]
    if sample.count(0) * 3 >= len(sample) > 0:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if min(even, odd) == 0:
            return "not_utf8", f"this is UTF-16 text, not UTF-8 JSONL; {_TO_UTF8.format('UTF-16')}"
        return "binary_file", "this is binary data, not UTF-8 JSONL"
    return None


class DatasetError(FtuiError):
    """A file that cannot be read as JSONL: `line` is 1-based, 0 for the file as a whole."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")
        self.path, self.line, self.reason = path, line, reason

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its fields (worker processes)
        return (type(self), (self.path, self.line, self.reason))


def check_file(path: Path) -> Path:
    """`path` if it is a regular file that can be read, else a UsageError/FtuiError naming it.

    Opened without blocking, so a FIFO is refused at once instead of waiting for a writer."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a JSONL file") from None
    except OSError as exc:
        raise FtuiError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path}: is a folder, not a JSONL file")
    if not stat.S_ISREG(mode):
        what = "a pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise UsageError(
            f"{path}: is {what}, not a regular file; save it to a file first "
            "(e.g. `zcat data.jsonl.gz > data.jsonl`) and give that"
        )
    return path


def check_unchanged(path: Path, before: os.stat_result) -> None:
    """FtuiError when `path` is no longer the file `before` was taken of: what was read of it (a
    report, a split) would be true of bytes that are gone. A missing file raises FileNotFoundError."""
    after = os.stat(path)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        raise FtuiError(f"{path}: replaced by another file while it was being read; try again")
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise FtuiError(
            f"{path}: changed while it was being read (still being written?); try again once it is complete"
        )


def line_text(raw: bytes, first: bool = False) -> bytes:
    """The JSON text of one line (`raw` without its b"\\n"); `first`: the file's first line."""
    text = raw.strip(WHITESPACE)
    if first and text.startswith(BOM):
        text = text[len(BOM) :].strip(WHITESPACE)
    return text


def parse(text: bytes) -> Any:
    """One line's JSON value. Raises ValueError with the parser's reason."""
    from pydantic_core import from_json

    return from_json(text, allow_inf_nan=False)


def duplicate_keys(text: bytes) -> list[str]:
    """Keys that appear twice in one object anywhere on the line (every reader here keeps the last).

    The slow path, for lines a cheap probe flagged: the standard parser's pair hook sees them all."""
    import json

    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and key not in found:
                found.append(key)
            seen.add(key)
        return dict(items)

    try:
        json.loads(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return []
    return found


def split_lines(data: bytes) -> list[bytes]:
    """`data`'s lines, each without its b"\\n" (a final b"\\n" ends a line, it does not start one)."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def read_lines(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes | None]:
    """The lines of bytes [start, end) of `path`, streamed; None for a line over MAX_LINE_BYTES
    (skipped unread). `start` must be 0 or just after a b"\\n"."""
    with open(path, "rb") as fh:
        fh.seek(start)
        pos = start
        while end is None or pos < end:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            pos += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                pos += skip_line(fh)
                yield None
            else:
                yield raw.removesuffix(b"\n")


def skip_line(fh: Any) -> int:
    """Move `fh` just past the next b"\\n" (or to the end); returns the bytes skipped."""
    skipped = 0
    while block := fh.read(1 << 20):
        cut = block.find(b"\n")
        if cut >= 0:
            fh.seek(cut + 1 - len(block), os.SEEK_CUR)
            return skipped + cut + 1
        skipped += len(block)
    return skipped


def texts(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(line number, JSON text) for every non-blank line; None as the text of a line over
    MAX_LINE_BYTES. Raises DatasetError for a file that is not UTF-8 JSONL at all."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except FileNotFoundError:
        raise DatasetError(path, 0, "file not found") from None
    except OSError as exc:
        raise DatasetError(path, 0, f"cannot read it ({exc.strerror or exc})") from None
    wrong = not_jsonl(head)
    if wrong:
        raise DatasetError(path, 0, wrong[1])
    for line_no, raw in enumerate(read_lines(path), 1):
        if raw is None:
            yield line_no, None
            continue
        text = line_text(raw, first=line_no == 1)
        if text:
            yield line_no, text


def read_objects(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for every non-blank line, for readers that stop at the first bad
    line (the trainer, the server's upload check): DatasetError names the file and line."""
    path = Path(path)
    for line_no, text in texts(path):
        if text is None:
            raise DatasetError(path, line_no, f"over {MAX_LINE_BYTES >> 20} MB on one line")
        try:
            value = parse(text)
        except ValueError as exc:
            raise DatasetError(path, line_no, parse_error(text, exc)[1]) from None
        yield line_no, value


def parse_error(text: bytes, exc: Exception) -> tuple[str, str]:
    """(code, message) for a line the parser refused."""
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as bad:
        return "invalid_utf8", f"not valid UTF-8 (byte {bad.start + 1} of the line)"
    reason = str(exc).replace(" at line 1 column ", " at column ")  # the line is ours to number
    return "invalid_json", f"not valid JSON: {reason}"[:300]


def count_lines(data: bytes) -> int:
    """Non-blank lines of a whole file's bytes, as the readers above count them."""
    return sum(1 for i, raw in enumerate(split_lines(data)) if line_text(raw, first=i == 0))
