"""Split a JSONL file into training and validation files: exact sizes, deterministic for a seed,
streaming (two passes, constant memory). Every line is checked to be a JSON object first, read as
validation and the trainer read it (ftui.data.jsonl), and written out as that JSON text alone."""

from __future__ import annotations

import os
import random
from pathlib import Path

from ftui.data import jsonl
from ftui.data.outfile import atomic_writer, check_output
from ftui.data.validate import check_path
from ftui.errors import FtuiError, UsageError


def default_outputs(src: Path) -> tuple[Path, Path]:
    stem = src.name.removesuffix(".jsonl")
    return src.with_name(f"{stem}.train.jsonl"), src.with_name(f"{stem}.valid.jsonl")


def valid_count(n: int, fraction: float) -> int:
    """How many of `n` examples go to validation: round(n * fraction), but leave both sides
    non-empty when there are at least two examples."""
    k = round(n * fraction)
    if n >= 2:
        k = min(max(k, 1), n - 1)
    return k


def split_file(
    src: Path,
    valid_fraction: float,
    seed: int,
    train_out: Path | None = None,
    valid_out: Path | None = None,
    *,
    force: bool = False,
) -> tuple[Path, Path]:
    src = check_path(Path(src))
    if not 0 < valid_fraction < 1:
        raise UsageError(f"--valid-fraction must be between 0 and 1, not {valid_fraction}")
    default_train, default_valid = default_outputs(src)
    train_out = Path(train_out) if train_out else default_train
    valid_out = Path(valid_out) if valid_out else default_valid
    if train_out.resolve() == valid_out.resolve():
        raise UsageError("the training and validation outputs must be different files")
    for dst in (train_out, valid_out):
        check_output(dst, inputs=(src,), force=force)

    try:
        before = os.stat(src)
        n = _count_objects(src)
    except FileNotFoundError:
        raise FtuiError(f"{src}: deleted or moved while it was being read") from None
    if n < 2:
        raise FtuiError(f"{src}: {n} example(s); splitting needs at least 2")
    k = valid_count(n, valid_fraction)
    # Selection sampling (Knuth's algorithm S): exactly k of n, each subset equally likely, in one
    # pass and without holding the indices.
    rng = random.Random(seed)
    chosen = seen = 0
    with atomic_writer(train_out) as train, atomic_writer(valid_out) as valid:
        for _, text in jsonl.texts(src):
            line = (text or b"") + b"\n"
            if rng.random() * (n - seen) < k - chosen:
                valid.write(line)
                chosen += 1
            else:
                train.write(line)
            seen += 1
        # Both passes must have read the same file, or the split is not the one counted for.
        try:
            jsonl.check_unchanged(src, before)
        except FileNotFoundError:
            raise FtuiError(f"{src}: deleted or moved while it was being read") from None
    return train_out, valid_out


MAX_REPORTED = 10


def _count_objects(src: Path) -> int:
    """The examples of `src`; FtuiError listing the first lines that are not JSON objects."""
    n = bad = 0
    problems: list[str] = []
    for line_no, text in jsonl.texts(src):
        n += 1
        if text is None:
            reason = f"over {jsonl.MAX_LINE_BYTES >> 20} MB on one line"
        else:
            try:
                if isinstance(jsonl.parse(text), dict):
                    continue
                reason = "not a JSON object"
            except ValueError as exc:
                reason = jsonl.parse_error(text, exc)[1]
        bad += 1
        if len(problems) < MAX_REPORTED:
            problems.append(f"  line {line_no}: {reason}")
    if bad:
        more = f"\n  ... and {bad - len(problems)} more" if bad > len(problems) else ""
        raise FtuiError(
            f"{src}: {bad} line(s) are not JSON objects; nothing was written "
            "(`ftui data validate` lists every problem):\n" + "\n".join(problems) + more
        )
    return n
