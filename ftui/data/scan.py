"""One streaming pass over a JSONL file: parse, check and count tokens, in memory that stays flat.

The file is cut into chunks of a few MB at newlines; each chunk is read, checked and counted on
its own (in a worker process when the file is big enough to pay for one) and comes back as a small
summary with line numbers relative to the chunk. The parent adds the chunks' line counts up in
order, so every reported line number is exact. Token lengths are kept as a histogram (distinct
lengths only), duplicates as 8-byte hashes, so memory does not grow with the file's text.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftui.data.checks import ERROR, check
from ftui.data.formats import detect, majority
from ftui.data.tokens import Tokenizer, count_examples

CHUNK_BYTES = 4 << 20
PARALLEL_MIN_BYTES = 16 << 20   # below this a worker pool costs more than it saves
MAX_ISSUES = 1000               # kept per kind (errors, warnings); the rest are counted
DUPLICATE_CHECK_LIMIT = 4_000_000  # examples whose hashes we keep (8 bytes + 8 for the line)
TOKEN_BATCH = 512
SNIFF_LINES = 200


@dataclass
class ChunkResult:
    lines: int = 0
    examples: int = 0
    valid: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    token_hist: Counter[int] = field(default_factory=Counter)
    turns_hist: Counter[int] = field(default_factory=Counter)
    max_tokens: int = 0
    max_line: int = 0
    over_limit: int = 0
    billed: int = 0
    hashes: bytes = b""       # 8-byte digests of the example lines, in order
    hash_lines: bytes = b""   # the matching relative line numbers, as uint32


@dataclass
class Job:
    path: str
    start: int
    end: int
    method: str
    legacy_ok: bool
    tokenizer: Any
    first_chunk: bool = False


def _add(issues: list[tuple[int, str, str]], item: tuple[int, str, str]) -> None:
    if len(issues) < MAX_ISSUES:
        issues.append(item)


def scan_chunk(job: Job) -> ChunkResult:
    import numpy as np
    from pydantic_core import from_json

    with open(job.path, "rb") as fh:
        fh.seek(job.start)
        data = fh.read(job.end - job.start)
    lines = data.split(b"\n")
    del data
    if lines and lines[-1] == b"":
        lines.pop()
    res = ChunkResult(lines=len(lines))
    limit = getattr(job.tokenizer, "max_tokens_per_example", None)
    pending: list[tuple[int, Any]] = []
    hashes = bytearray()
    hash_lines: list[int] = []
    blake = hashlib.blake2b

    def flush() -> None:
        counts = count_examples(job.tokenizer, [obj for _, obj in pending])
        for (line_no, _), n in zip(pending, counts, strict=True):
            res.token_hist[n] += 1
            if n > res.max_tokens:
                res.max_tokens, res.max_line = n, line_no
            if limit and n > limit:
                res.over_limit += 1
                res.error_count += 1
                _add(res.errors, (line_no, "example_too_long",
                                  f"{n:,} tokens, over the model's limit of {limit:,} per example "
                                  "(the end would be cut off)"))
                res.billed += limit
            else:
                res.billed += n
        pending.clear()

    for i, raw in enumerate(lines):
        line_no = i + 1
        text = raw.strip()
        if i == 0 and job.first_chunk and text.startswith(b"\xef\xbb\xbf"):
            text = text[3:].strip()
            res.warning_count += 1
            _add(res.warnings, (line_no, "utf8_bom", "file starts with a byte-order mark; remove it"))
        if not text:
            res.warning_count += 1
            _add(res.warnings, (line_no, "blank_line", "blank line (skipped)"))
            continue
        res.examples += 1
        try:
            obj = from_json(text, allow_inf_nan=False)
        except ValueError as exc:
            res.error_count += 1
            _add(res.errors, (line_no, *_parse_error(text, exc)))
            continue
        except Exception as exc:  # the parser's own limits (depth, size): still a bad line, never a crash
            res.error_count += 1
            _add(res.errors, (line_no, "invalid_json", f"cannot parse this line: {exc}"[:200]))
            continue
        problems, turns = check(obj, job.method, legacy_ok=job.legacy_ok)
        bad = False
        for severity, code, message in problems:
            if severity == ERROR:
                bad = True
                res.error_count += 1
                _add(res.errors, (line_no, code, message))
            else:
                res.warning_count += 1
                _add(res.warnings, (line_no, code, message))
        if len(hash_lines) < DUPLICATE_CHECK_LIMIT:
            hashes += blake(text, digest_size=8).digest()
            hash_lines.append(line_no)
        if bad:
            continue
        res.valid += 1
        res.turns_hist[turns] += 1
        pending.append((line_no, obj))
        if len(pending) >= TOKEN_BATCH:
            flush()
    if pending:
        flush()
    res.hashes = bytes(hashes)
    res.hash_lines = np.asarray(hash_lines, dtype=np.uint32).tobytes()
    return res


def _parse_error(text: bytes, exc: Exception) -> tuple[str, str]:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as bad:
        return "invalid_utf8", f"not valid UTF-8 (byte {bad.start + 1} of the line)"
    return "invalid_json", f"not valid JSON: {exc}"[:300]


def chunk_bounds(path: Path, size: int, chunk: int = CHUNK_BYTES) -> Iterator[tuple[int, int]]:
    """(start, end) byte ranges that each end just after a newline (or at the end of the file)."""
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            end = min(start + chunk, size)
            if end < size:
                fh.seek(end)
                fh.readline()
                end = min(fh.tell(), size)
            yield start, end
            start = end


def sniff(path: Path, lines: int = SNIFF_LINES) -> str:
    """The file's format, from its first parseable lines."""
    from pydantic_core import from_json

    seen: Counter[str] = Counter()
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh):
            if n >= lines * 5 or sum(seen.values()) >= lines:
                break
            text = raw.strip().removeprefix(b"\xef\xbb\xbf")
            if not text:
                continue
            try:
                seen[detect(from_json(text, allow_inf_nan=False))] += 1
            except Exception:
                continue
    return majority(seen)


@dataclass
class ScanResult:
    size: int = 0
    lines: int = 0
    examples: int = 0
    valid: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    token_hist: Counter[int] = field(default_factory=Counter)
    turns_hist: Counter[int] = field(default_factory=Counter)
    max_tokens: int = 0
    max_line: int = 0
    over_limit: int = 0
    billed: int = 0
    duplicates_checked: bool = True


def _parallel_ok(tokenizer: Any) -> bool:
    from ftui.data.tokens import ApproximateTokenizer, OpenAITokenizer

    return isinstance(tokenizer, OpenAITokenizer | ApproximateTokenizer) or bool(
        getattr(tokenizer, "parallel_safe", False))


def workers_for(size: int, tokenizer: Any, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if size < PARALLEL_MIN_BYTES or not _parallel_ok(tokenizer):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def scan(path: Path, *, method: str, tokenizer: Tokenizer, legacy_ok: bool = False,
         progress: Callable[[int, int], None] | None = None, workers: int | None = None,
         chunk: int = CHUNK_BYTES) -> ScanResult:
    import numpy as np

    size = path.stat().st_size
    out = ScanResult(size=size)
    jobs = (Job(str(path), s, e, method, legacy_ok, tokenizer, first_chunk=s == 0)
            for s, e in chunk_bounds(path, size, chunk))
    n_workers = workers_for(size, tokenizer, workers)
    digests: list[Any] = []
    digest_lines: list[Any] = []
    kept = 0

    def merge(res: ChunkResult, end: int) -> None:
        nonlocal kept
        base = out.lines
        for src, dst in ((res.errors, out.errors), (res.warnings, out.warnings)):
            room = MAX_ISSUES - len(dst)
            dst.extend((base + line, code, msg) for line, code, msg in src[:max(room, 0)])
        out.lines += res.lines
        out.examples += res.examples
        out.valid += res.valid
        out.error_count += res.error_count
        out.warning_count += res.warning_count
        out.token_hist.update(res.token_hist)
        out.turns_hist.update(res.turns_hist)
        if res.max_tokens > out.max_tokens:
            out.max_tokens, out.max_line = res.max_tokens, base + res.max_line
        out.over_limit += res.over_limit
        out.billed += res.billed
        if res.hashes and kept < DUPLICATE_CHECK_LIMIT:
            h = np.frombuffer(res.hashes, dtype=np.uint64)
            ln = np.frombuffer(res.hash_lines, dtype=np.uint32).astype(np.uint64) + base
            take = min(len(h), DUPLICATE_CHECK_LIMIT - kept)
            digests.append(h[:take].copy())
            digest_lines.append(ln[:take])
            kept += take
            if take < len(h):
                out.duplicates_checked = False
        if progress is not None:
            progress(end, size)

    if n_workers == 1:
        for job in jobs:
            merge(scan_chunk(job), job.end)
    else:
        import multiprocessing

        # forkserver, not fork: callers run us in a thread beside an event loop, and forking a
        # threaded process can deadlock the child.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["ftui.data.scan"])
        with ctx.Pool(n_workers) as pool:
            pending_ends: list[int] = []

            def tracked() -> Iterator[Job]:
                for job in jobs:
                    pending_ends.append(job.end)
                    yield job

            for i, res in enumerate(pool.imap(scan_chunk, tracked(), chunksize=1)):
                merge(res, pending_ends[i])
    if digests:
        _duplicates(out, np.concatenate(digests), np.concatenate(digest_lines))
    return out


def _duplicates(out: ScanResult, hashes: Any, lines: Any) -> None:
    import numpy as np

    order = np.argsort(hashes, kind="stable")
    sorted_h = hashes[order]
    same = np.flatnonzero(sorted_h[1:] == sorted_h[:-1]) + 1
    if not len(same):
        return
    # For each repeat, the first line holding the same text (stable sort keeps file order).
    first_of_run = np.maximum.accumulate(np.where(np.r_[True, sorted_h[1:] != sorted_h[:-1]],
                                                  np.arange(len(sorted_h)), 0))
    found = sorted(
        (int(lines[order[i]]), int(lines[order[first_of_run[i]]])) for i in same
    )
    out.warning_count += len(found)
    room = MAX_ISSUES - len(out.warnings)
    out.warnings.extend((line, "duplicate_example", f"same as line {orig}") for line, orig in found[:max(room, 0)])
    out.warnings.sort(key=lambda w: w[0])
