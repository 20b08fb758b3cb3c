"""One streaming pass over a JSONL file: parse, check and count tokens, in memory that stays flat.

The file is cut into chunks of a few MB at newlines; each chunk is read, checked and counted on
its own (in a worker process when the file is big enough to pay for one) and comes back as a small
summary with line numbers relative to the chunk. The parent adds the chunks' line counts up in
order, so every reported line number is exact. Token lengths are kept as a histogram (distinct
lengths only), duplicates as 8-byte hashes, so memory does not grow with the file's text.
"""

from __future__ import annotations

import dataclasses
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from ftui.data import jsonl
from ftui.data.checks import ERROR, PLAIN_ROLES, check
from ftui.data.formats import Format, detect, majority
from ftui.data.jsonl import BOM, MAX_LINE_BYTES, WHITESPACE
from ftui.data.tokens import (
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REPLY,
    AtLeast,
    Tokenizer,
    _Accounting,
    count_examples,
)

CHUNK_BYTES = 4 << 20
PARALLEL_MIN_BYTES = 16 << 20  # below this a worker pool costs more than it saves
SMALL_DUPLICATE_CHECK = 200_000  # up to this many lines, duplicates are found without numpy
MAX_INFLIGHT = 6  # parsed chunks waiting for their counts, at most
MAX_ISSUES = 1000  # kept per kind (errors, warnings); the rest are counted
DUPLICATE_CHECK_LIMIT = 2_000_000  # examples whose hashes we keep (8 bytes + 8 for the line)
TOKEN_BATCH = 512
SNIFF_LINES = 200
_TOO_LONG = f"over {MAX_LINE_BYTES >> 20} MB on one line: not a training example"
_DUPLICATE_KEY = "key {key!r} appears twice in one object: only the last one is used"
BOM_WARNING = "file starts with a UTF-8 byte-order mark (skipped; some tools refuse it)"


@dataclass
class Tally:
    """What a scan counts, for one chunk of the file or for the whole of it."""

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


@dataclass
class ChunkResult(Tally):
    hashes: bytes = b""  # 8-byte digests of the example lines, in order
    hash_lines: bytes = b""  # the matching relative line numbers, as uint32


@dataclass
class Job:
    path: str
    start: int
    end: int
    method: str
    legacy_ok: bool
    tokenizer: Any  # the tokenizer itself, or its pickle when the job goes to a worker
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


def _tally(res: ChunkResult, limit: int | None, line_no: int, n: int) -> None:
    res.token_hist[n] += 1
    if n > res.max_tokens:
        res.max_tokens, res.max_line = n, line_no
    if limit and n > limit:
        res.over_limit += 1
        res.error_count += 1
        _add(
            res.errors,
            (
                line_no,
                "example_too_long",
                f"{'at least ' if isinstance(n, AtLeast) else ''}{n:,} tokens, over the model's limit "
                f"of {limit:,} per example (the end would be cut off)",
            ),
        )
        res.billed += limit
    else:
        res.billed += n


@dataclass
class Parsed:
    """A chunk read and checked, its valid examples waiting for token counts."""

    res: ChunkResult
    # Planned (our own tokenizers): (line, tokens known already, indexes into `new`) per example;
    # otherwise (line, parsed example) for the tokenizer's own count_examples.
    examples: list[Any] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # distinct strings not counted yet
    # Indexes into `new` of strings seen more than once in the chunk: the ones worth remembering
    # for later chunks (system prompts, roles). Remembering every string cost more than it saved.
    repeated: set[int] = field(default_factory=set)


def _uncached(text: str) -> int | None:
    return None


def parse_chunk(job: Job, tokenizer: Any, planned: bool) -> Parsed:
    """Read, parse and check a chunk's lines; nothing is counted yet.

    `planned`: the tokenizer is one of ours (`plan`, `cache_lookup`, `count_texts`): each example is
    reduced to its fixed overhead plus strings, strings already counted are added up now, and each
    new string is listed once for one batch count later.
    """
    res = ChunkResult()
    out = Parsed(res)
    examples, new, repeated = out.examples, out.new, out.repeated
    new_index: dict[str, int] = {}
    # Python's own hash of the line (64-bit SipHash): a tenth of blake2b's time. Its per-process
    # key is the same in every chunk of one scan: chunks run in this process, or in worker
    # processes that all fork from one parent (this one, or the forkserver).
    hashes = array("q")
    hash_lines = array("I")
    method, legacy_ok = job.method, job.legacy_ok
    # Only the planned (streaming) path calls these two.
    cached: Callable[[str], int | None] = tokenizer.cache_lookup if planned else _uncached
    plan = tokenizer.plan if planned else None
    plain = planned and method == "supervised"
    plain_roles = PLAIN_ROLES
    per_message, per_reply = TOKENS_PER_MESSAGE, TOKENS_PER_REPLY
    line_no = 0

    def add_planned(fixed: int, texts: list[str]) -> None:
        known = fixed
        idxs = []
        for text in texts:
            n = cached(text)
            if n is not None:
                known += n
                continue
            i = new_index.get(text)
            if i is None:
                i = new_index[text] = len(new)
                new.append(text)
            else:
                repeated.add(i)
            idxs.append(i)
        examples.append((line_no, known, idxs))

    # Each plain role's tokens where an earlier chunk counted it (None: not yet; then it goes the
    # way of any other string), and a lookup that is also the test for a plain role.
    role_tokens = {role: cached(role) for role in plain_roles} if planned else {}

    def add_plain(obj: Any) -> bool:
        """The common line, `{"messages": [{"role", "content"}, ...]}` with plain text and a reply:
        checked and planned in one loop (this runs for every line of files of gigabytes). False
        for anything else, which then goes through the full checks."""
        if type(obj) is not dict or len(obj) != 1:
            return False
        messages = obj.get("messages")
        if type(messages) is not list or not messages:
            return False
        known = per_reply
        idxs = []
        reply = False
        for m in messages:
            if type(m) is not dict or len(m) != 2:
                return False
            role, content = m.get("role"), m.get("content")
            if (
                type(role) is not str
                or type(content) is not str
                or not content
                or content.isspace()
                or "<|" in content
            ):
                return False
            n = role_tokens.get(role, -1)
            if n is None:  # a plain role no chunk has counted yet
                n = cached(role)
            if n is None:
                i = new_index.get(role)
                if i is None:  # (kept even if the line turns out not plain: counted, never used)
                    i = new_index[role] = len(new)
                    new.append(role)
                else:
                    repeated.add(i)
                idxs.append(i)
            elif n < 0:
                return False
            else:
                known += n
            if role == "assistant":
                reply = True
            n = cached(content)
            if n is not None:
                known += n
                continue
            i = new_index.get(content)
            if i is None:
                i = new_index[content] = len(new)
                new.append(content)
            else:
                repeated.add(i)
            idxs.append(i)
        if not reply:
            return False
        res.valid += 1
        res.turns_hist[len(messages)] += 1
        examples.append((line_no, known + per_message * len(messages), idxs))
        return True

    for line_no, text, obj in _parsed_lines(job, res):
        if len(hash_lines) < DUPLICATE_CHECK_LIMIT:
            hashes.append(hash(text))
            hash_lines.append(line_no)
        if plain and add_plain(obj):
            continue
        try:
            problems, turns = check(obj, method, legacy_ok=legacy_ok)
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
        if plan is not None:
            add_planned(*plan(obj))
        else:
            examples.append((line_no, obj))
    res.hashes = hashes.tobytes()
    res.hash_lines = hash_lines.tobytes()
    return out


def _parsed_lines(job: Job, res: ChunkResult) -> Iterator[tuple[int, bytes, Any]]:
    """(line number, JSON text, value) for each of the chunk's lines that parses; everything
    else about a line (too long, a BOM, blank, not JSON, a duplicate key) is tallied in `res`
    here, and `res.lines` set at the end."""
    from pydantic_core import from_json  # what jsonl.parse calls; bound here, once per chunk

    line_no = 0
    for raw in _chunk_lines(job):
        line_no += 1
        if raw is None:
            res.examples += 1
            res.error_count += 1
            _add(res.errors, (line_no, "line_too_long", _TOO_LONG))
            continue
        # jsonl.line_text, inlined: this runs for every line of files of gigabytes.
        text = raw.strip(WHITESPACE)
        if line_no == 1 and job.first_chunk and text.startswith(BOM):
            text = jsonl.line_text(raw, first=True)
            res.warning_count += 1
            _add(res.warnings, (line_no, "utf8_bom", BOM_WARNING))
        if not text:
            res.warning_count += 1
            _add(res.warnings, (line_no, "blank_line", "blank line (skipped)"))
            continue
        res.examples += 1
        try:
            obj = from_json(text, allow_inf_nan=False)
        except ValueError as exc:
            res.error_count += 1
            _add(res.errors, (line_no, *jsonl.parse_error(text, exc)))
            continue
        except Exception as exc:  # the parser's own limits (depth, size): still a bad line, never a crash
            res.error_count += 1
            _add(res.errors, (line_no, "invalid_json", f"cannot parse this line: {exc}"[:200]))
            continue
        if text.count(b'"messages"') > 1:  # a duplicate key? (or the word as a value: checked)
            for key in jsonl.duplicate_keys(text):
                res.warning_count += 1
                _add(res.warnings, (line_no, "duplicate_key", _DUPLICATE_KEY.format(key=key[:40])))
        yield line_no, text, obj
    res.lines = line_no


def finish_planned(parsed: Parsed, tokenizer: Any, counts: list[int]) -> ChunkResult:
    """Add the new strings' counts up into each example's total, and tally the examples."""
    res = parsed.res
    remember, new = tokenizer.remember, parsed.new
    if len(counts) != len(new):
        raise ValueError(f"{len(counts)} counts for {len(new)} strings")
    for i in parsed.repeated:
        remember(new[i], counts[i])
    limit = getattr(tokenizer, "max_tokens_per_example", None)
    for line_no, known, idxs in parsed.examples:
        for i in idxs:
            known += counts[i]
        _tally(res, limit, line_no, known)
    return res


def scan_chunk(job: Job) -> ChunkResult:
    """A whole chunk, counted too: what a worker process does (and the one-process path)."""
    tokenizer = _tokenizer_of(job)
    if _planned(tokenizer):
        parsed = parse_chunk(job, tokenizer, True)
        return finish_planned(parsed, tokenizer, tokenizer.count_texts(parsed.new))
    parsed = parse_chunk(job, tokenizer, False)
    limit = getattr(tokenizer, "max_tokens_per_example", None)
    for start in range(0, len(parsed.examples), TOKEN_BATCH):
        batch = parsed.examples[start : start + TOKEN_BATCH]
        counts = count_examples(tokenizer, [obj for _, obj in batch])
        for (line_no, _), n in zip(batch, counts, strict=True):
            _tally(parsed.res, limit, line_no, n)
    return parsed.res


def _planned(tokenizer: Any) -> TypeGuard[_Accounting]:
    return isinstance(tokenizer, _Accounting)


def _chunk_lines(job: Job) -> Iterator[bytes | None]:
    """The chunk's lines (jsonl.split_lines), read in one go when the chunk is of the usual size."""
    if job.end - job.start > 2 * CHUNK_BYTES:  # a very long line inside: stream it
        yield from jsonl.read_lines(Path(job.path), job.start, job.end)
        return
    with open(job.path, "rb") as fh:
        fh.seek(job.start)
        data = fh.read(job.end - job.start)
    limit = MAX_LINE_BYTES
    for raw in jsonl.split_lines(data):
        yield None if len(raw) > limit else raw


def chunk_bounds(path: Path, size: int, chunk: int = CHUNK_BYTES) -> Iterator[tuple[int, int]]:
    """(start, end) byte ranges that each end just after a newline (or at the end of the file)."""
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            end = min(start + chunk, size)
            if end < size:
                fh.seek(end)
                end = min(end + jsonl.skip_line(fh), size)
            yield start, end
            start = end


def sniff(path: Path, lines: int = SNIFF_LINES) -> str:
    """The file's format, from its first parseable lines."""
    seen: Counter[Format] = Counter()
    for n, raw in enumerate(jsonl.read_lines(path)):
        if n >= lines * 5 or sum(seen.values()) >= lines:
            break
        if raw is None:
            continue
        text = jsonl.line_text(raw, first=n == 0)
        if not text:
            continue
        try:
            seen[detect(jsonl.parse(text))] += 1
        except Exception:
            continue
    return majority(seen)


@dataclass
class ScanResult(Tally):
    size: int = 0
    duplicates_checked: bool = True


def _parallel_ok(tokenizer: Any) -> bool:
    from ftui.data.tokens import ApproximateTokenizer, OpenAITokenizer

    return isinstance(tokenizer, OpenAITokenizer | ApproximateTokenizer) or bool(
        getattr(tokenizer, "parallel_safe", False)
    )


def workers_for(size: int, tokenizer: Any, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if size < PARALLEL_MIN_BYTES or not _parallel_ok(tokenizer):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def scan(
    path: Path,
    *,
    method: str,
    tokenizer: Tokenizer,
    legacy_ok: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    chunk: int = CHUNK_BYTES,
    meanwhile: Callable[[], None] | None = None,
) -> ScanResult:
    """Check and count a whole file; `workers` > 1 reads, checks and counts chunks in parallel.

    `meanwhile` is called once while the scan runs: after the worker processes have started when
    there are some (work for the parent, which otherwise waits), else at the start."""
    import threading

    size = path.stat().st_size
    out = ScanResult(size=size)
    n_workers = workers_for(size, tokenizer, workers)
    # Worker processes are the fastest and leanest where they can be forked, which is only safe
    # with no other thread running. The TUI calls us from a worker thread beside its event loop:
    # there our own tokenizers count in a thread (the native counter leaves the GIL), and others
    # go to a forkserver's processes.
    can_fork = threading.active_count() == 1
    in_threads = _planned(tokenizer) and (n_workers == 1 or not can_fork)
    sent: Any = tokenizer
    bounds = chunk_bounds(path, size, chunk)
    ahead: list[tuple[int, Parsed]] = []  # chunks this process parsed while the vocabulary loaded
    if n_workers > 1 and not in_threads:
        import pickle

        if _planned(tokenizer):
            # The vocabulary is loaded once, here, and shared with the workers by fork; meanwhile
            # (it takes 0.1-0.4 s, mostly outside the GIL) this thread parses the first chunks.
            loader = tokenizer.preload()
            for s, e in bounds:
                job = Job(str(path), s, e, method, legacy_ok, tokenizer, first_chunk=s == 0)
                ahead.append((e, parse_chunk(job, tokenizer, True)))
                if loader is None or not loader.is_alive() or len(ahead) >= MAX_INFLIGHT:
                    break
            if loader is not None:
                loader.join()  # no other thread may run when the pool forks
        getattr(tokenizer, "encoder", None)  # load the vocabulary once, before forking
        sent = pickle.dumps(tokenizer)
    jobs = (Job(str(path), s, e, method, legacy_ok, sent, first_chunk=s == 0) for s, e in bounds)
    digests: list[tuple[bytes, bytes, int]] = []
    kept = 0

    def merge(res: ChunkResult, end: int) -> None:
        nonlocal kept
        base = out.lines
        for src, dst in ((res.errors, out.errors), (res.warnings, out.warnings)):
            room = MAX_ISSUES - len(dst)
            dst.extend((base + line, code, msg) for line, code, msg in src[: max(room, 0)])
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
            take = min(len(res.hashes) // 8, DUPLICATE_CHECK_LIMIT - kept)
            digests.append((res.hashes[: take * 8], res.hash_lines[: take * 4], base))
            kept += take
            if take * 8 < len(res.hashes):
                out.duplicates_checked = False
        if progress is not None:
            progress(end, size)

    if in_threads or n_workers == 1:
        if meanwhile is not None:
            meanwhile()
        if in_threads:
            _scan_threads(jobs, tokenizer, n_workers, merge)
        else:
            for job in jobs:
                merge(scan_chunk(job), job.end)
    else:
        _scan_processes(jobs, n_workers, merge, can_fork, ahead, tokenizer, meanwhile)
    if kept <= SMALL_DUPLICATE_CHECK:
        _duplicates_small(out, digests)
    else:
        import numpy as np

        hashes = np.concatenate([np.frombuffer(h, dtype=np.uint64) for h, _, _ in digests])
        lines = np.concatenate(
            [np.frombuffer(ln, dtype=np.uint32).astype(np.uint64) + base for _, ln, base in digests]
        )
        _duplicates(out, hashes, lines)
    return out


def _scan_threads(
    jobs: Iterator[Job], tokenizer: Any, threads: int, merge: Callable[[ChunkResult, int], None]
) -> None:
    """Parse in this thread; count each chunk's new strings in a second one, a chunk behind.

    Where worker processes cannot be forked. Costs more CPU than processes (the batch counter
    returns numpy arrays: numpy's import), and the parsing stays on one core."""
    if threads == 1 or not tokenizer.releases_gil:
        for job in jobs:
            parsed = parse_chunk(job, tokenizer, True)
            merge(finish_planned(parsed, tokenizer, tokenizer.count_texts(parsed.new)), job.end)
        return
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    tokenizer.preload()
    inflight: deque[tuple[int, Parsed, Future[list[int]]]] = deque()

    def land() -> None:
        end, parsed, counted = inflight.popleft()
        merge(finish_planned(parsed, tokenizer, counted.result()), end)

    with ThreadPoolExecutor(1, thread_name_prefix="ftui-count") as counter:
        try:
            for job in jobs:
                parsed = parse_chunk(job, tokenizer, True)
                inflight.append((job.end, parsed, counter.submit(tokenizer.count_texts, parsed.new, threads)))
                # In file order (line numbers add up chunk by chunk); a few chunks may wait, e.g.
                # while the vocabulary loads, but never many (memory stays flat).
                while inflight and (len(inflight) > MAX_INFLIGHT or inflight[0][2].done()):
                    land()
            while inflight:
                land()
        finally:
            for _, _, counted in inflight:
                counted.cancel()


def _scan_processes(
    jobs: Iterator[Job],
    n_workers: int,
    merge: Callable[[ChunkResult, int], None],
    can_fork: bool,
    ahead: list[tuple[int, Parsed]],
    tokenizer: Any,
    meanwhile: Callable[[], None] | None,
) -> None:
    import multiprocessing

    # fork is the cheap start, but forking a process with other threads can deadlock the child.
    ctx: multiprocessing.context.BaseContext
    if can_fork:
        ctx = multiprocessing.get_context("fork")
    else:
        server = multiprocessing.get_context("forkserver")
        server.set_forkserver_preload(["ftui.data.scan"])
        ctx = server
    # With our own tokenizer loaded here, this process scans every n-th chunk itself rather than
    # wait on n workers: one process fewer to fork and to feed, for the same parallelism.
    share = can_fork and _planned(tokenizer)
    with ctx.Pool(n_workers - 1 if share else n_workers) as pool:
        queue = [(job, share and i % n_workers == 0) for i, job in enumerate(jobs)]
        results = pool.imap(scan_chunk, (job for job, mine in queue if not mine), chunksize=1)
        if meanwhile is not None:
            meanwhile()
        # The chunks parsed ahead come first in the file: count them here while the workers start.
        for end, parsed in ahead:
            merge(finish_planned(parsed, tokenizer, tokenizer.count_texts(parsed.new)), end)
        ahead.clear()
        for job, mine in queue:
            res = scan_chunk(dataclasses.replace(job, tokenizer=tokenizer)) if mine else next(results)
            merge(res, job.end)


def _duplicates_small(out: ScanResult, digests: list[tuple[bytes, bytes, int]]) -> None:
    """The same as `_duplicates`, in plain Python: for a few hundred thousand lines, cheaper than
    importing numpy."""
    first: dict[int, int] = {}
    found: list[tuple[int, int]] = []
    for hashes, lines, base in digests:
        for h, line in zip(array("q", hashes), array("I", lines), strict=True):
            seen = first.setdefault(h, line + base)
            if seen != line + base:
                found.append((line + base, seen))
    if not found:
        return
    out.warning_count += len(found)
    room = max(MAX_ISSUES - len(out.warnings), 0)
    out.warnings.extend((line, "duplicate_example", f"same as line {seen}") for line, seen in found[:room])
    out.warnings.sort(key=lambda w: w[0])


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
    out.warnings.extend(
        (int(dup_lines[i]), "duplicate_example", f"same as line {int(orig_lines[i])}") for i in shown
    )
    out.warnings.sort(key=lambda w: w[0])
