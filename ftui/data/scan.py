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

from ftui.data.checks import ERROR, check, plain_chat_texts
from ftui.data.formats import detect, majority
from ftui.data.tokens import Tokenizer, count_examples

CHUNK_BYTES = 4 << 20
PARALLEL_MIN_BYTES = 16 << 20   # below this a worker pool costs more than it saves
MAX_ISSUES = 1000               # kept per kind (errors, warnings); the rest are counted
DUPLICATE_CHECK_LIMIT = 2_000_000  # examples whose hashes we keep (8 bytes + 8 for the line)
TOKEN_BATCH = 512
MAX_LINE_BYTES = 64 << 20       # a longer line is reported, never read into memory
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
    tokenizer: Any            # the tokenizer itself, or its pickle when the job goes to a worker
    first_chunk: bool = False


# A worker process keeps one tokenizer per pickle it was sent, so its cache of counted strings
# (shared system prompts, roles) lives across chunks.
_worker_tokenizers: dict[bytes, Any] = {}


def _tokenizer_of(job: Job) -> Any:
    if not isinstance(job.tokenizer, bytes):
        return job.tokenizer
    tok = _worker_tokenizers.get(job.tokenizer)
    if tok is None:
        import pickle

        _worker_tokenizers.clear()
        tok = _worker_tokenizers[job.tokenizer] = pickle.loads(job.tokenizer)
    return tok


def _add(issues: list[tuple[int, str, str]], item: tuple[int, str, str]) -> None:
    if len(issues) < MAX_ISSUES:
        issues.append(item)


def scan_chunk(job: Job) -> ChunkResult:
    import numpy as np
    from pydantic_core import from_json

    res = ChunkResult()
    tokenizer = _tokenizer_of(job)
    limit = getattr(tokenizer, "max_tokens_per_example", None)
    pending: list[tuple[int, Any]] = []
    hashes = bytearray()
    hash_lines: list[int] = []
    blake = hashlib.blake2b

    def tally(line_no: int, n: int) -> None:
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

    def flush() -> None:
        counts = count_examples(tokenizer, [obj for _, obj in pending])
        for (line_no, _), n in zip(pending, counts, strict=True):
            tally(line_no, n)
        pending.clear()

    # The common line (plain chat, supervised, our own tokenizer) is checked and counted in one go.
    count_plain = getattr(tokenizer, "count_plain_chat", None)
    plain = plain_chat_texts if job.method == "supervised" and count_plain is not None else None

    for i, raw in enumerate(_lines(job)):
        line_no = res.lines = i + 1
        if raw is None:
            res.examples += 1
            res.error_count += 1
            _add(res.errors, (line_no, "line_too_long",
                              f"over {MAX_LINE_BYTES >> 20} MB on one line: not a training example"))
            continue
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
        if len(hash_lines) < DUPLICATE_CHECK_LIMIT:
            hashes += blake(text, digest_size=8).digest()
            hash_lines.append(line_no)
        if plain is not None:
            texts = plain(obj)
            if texts is not None:
                n = count_plain(texts)
                res.valid += 1
                res.turns_hist[len(texts) // 2] += 1
                tally(line_no, n)
                continue
        try:
            problems, turns = check(obj, job.method, legacy_ok=job.legacy_ok)
        except Exception as exc:  # a bug of ours must not hide the rest of the file
            problems, turns = [(ERROR, "check_failed", f"could not check this line: {exc!r}"[:200])], 0
        bad = False
        for severity, code, message in problems:
            if severity == ERROR:
                bad = True
                res.error_count += 1
                _add(res.errors, (line_no, code, message))
            else:
                res.warning_count += 1
                _add(res.warnings, (line_no, code, message))
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


def _lines(job: Job) -> Iterator[bytes | None]:
    """The chunk's lines; None for a line too long to hold in memory (it is skipped unread)."""
    with open(job.path, "rb") as fh:
        fh.seek(job.start)
        pos = job.start
        while pos < job.end:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            pos += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                pos += _skip_line(fh)
                yield None
            else:
                yield raw


def _skip_line(fh: Any) -> int:
    skipped = 0
    while block := fh.read(1 << 20):
        cut = block.find(b"\n")
        if cut >= 0:
            fh.seek(cut + 1 - len(block), os.SEEK_CUR)
            return skipped + cut + 1
        skipped += len(block)
    return skipped


def _parse_error(text: bytes, exc: Exception) -> tuple[str, str]:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as bad:
        return "invalid_utf8", f"not valid UTF-8 (byte {bad.start + 1} of the line)"
    reason = str(exc).replace(" at line 1 column ", " at column ")  # the line is ours to number
    return "invalid_json", f"not valid JSON: {reason}"[:300]


def chunk_bounds(path: Path, size: int, chunk: int = CHUNK_BYTES) -> Iterator[tuple[int, int]]:
    """(start, end) byte ranges that each end just after a newline (or at the end of the file)."""
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            end = min(start + chunk, size)
            if end < size:
                fh.seek(end)
                end = min(end + _skip_line(fh), size)
            yield start, end
            start = end


def sniff(path: Path, lines: int = SNIFF_LINES) -> str:
    """The file's format, from its first parseable lines."""
    from pydantic_core import from_json

    seen: Counter[str] = Counter()
    size = path.stat().st_size
    job = Job(str(path), 0, size, "", False, None)
    for n, raw in enumerate(_lines(job)):
        if n >= lines * 5 or sum(seen.values()) >= lines:
            break
        if raw is None:
            continue
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
    n_workers = workers_for(size, tokenizer, workers)
    sent: Any = tokenizer
    if n_workers > 1:
        import pickle

        getattr(tokenizer, "encoder", None)  # load the vocabulary once, before forking
        sent = pickle.dumps(tokenizer)
    jobs = (Job(str(path), s, e, method, legacy_ok, sent, first_chunk=s == 0)
            for s, e in chunk_bounds(path, size, chunk))
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
        import threading

        # fork is the cheap start, but forking a process with other threads (the TUI calls us from
        # a worker thread beside its event loop) can deadlock the child: use forkserver there.
        if threading.active_count() == 1:
            ctx = multiprocessing.get_context("fork")
        else:
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
    starts = np.r_[True, sorted_h[1:] != sorted_h[:-1]]
    repeats = np.flatnonzero(~starts)
    if not len(repeats):
        return
    # For each repeat, the first line holding the same text (the stable sort keeps file order).
    first_of_run = np.maximum.accumulate(np.where(starts, np.arange(len(sorted_h)), 0))
    dup_lines = lines[order[repeats]]
    orig_lines = lines[order[first_of_run[repeats]]]
    out.warning_count += len(repeats)
    room = max(MAX_ISSUES - len(out.warnings), 0)
    shown = np.argsort(dup_lines, kind="stable")[:room]
    out.warnings.extend((int(dup_lines[i]), "duplicate_example", f"same as line {int(orig_lines[i])}")
                        for i in shown)
    out.warnings.sort(key=lambda w: w[0])
