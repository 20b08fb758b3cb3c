"""Validation in the helper process gives the in-process report, its progress, and clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.data.validate import validate_path
from ftui.data.validate_process import ValidationProcess
from ftui.errors import FtuiError

GOOD = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}


@pytest.fixture
def helper():
    vp = ValidationProcess()
    yield vp
    vp.close()


def _dataset(path: Path, n: int = 12, bad_line: int | None = 5) -> Path:
    lines = [
        json.dumps({"messages": [GOOD["messages"][0], {"role": "assistant", "content": str(i)}]})
        for i in range(n)
    ]
    if bad_line:
        lines[bad_line - 1] = '{"messages": 3}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_helper_returns_the_report_validate_path_returns(helper, tmp_path):
    path = _dataset(tmp_path / "train.jsonl")
    seen: list[tuple[int, int]] = []
    report = helper.validate(
        path, model="gpt-4o-mini", progress=lambda done, total: seen.append((done, total))
    )
    local = validate_path(path, model="gpt-4o-mini")
    assert report.model_dump() == local.model_dump()
    assert [e.line for e in report.errors] == [5]
    assert (report.tokenizer, report.exact, report.lengths, report.turns) == (
        local.tokenizer,
        local.exact,
        local.lengths,
        local.turns,
    )
    size = path.stat().st_size
    assert seen and seen[-1] == (size, size)
    again = helper.validate(path, model="gpt-4o-mini")  # the same helper, vocabulary still loaded
    assert again.model_dump() == report.model_dump()


def test_errors_come_back_as_ftui_errors_naming_the_file(helper, tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FtuiError, match=r"nope\.jsonl: no such file"):
        helper.validate(missing)
    with pytest.raises(FtuiError, match="unknown method"):
        helper.validate(_dataset(tmp_path / "t.jsonl"), method="nonsense")


def test_a_new_request_replaces_the_one_in_flight(helper, tmp_path):
    first = _dataset(tmp_path / "first.jsonl")
    second = _dataset(tmp_path / "second.jsonl", bad_line=None)
    replaced: list[object] = []

    def progress(done: int, total: int) -> None:
        if not replaced:  # the user picks another file while the first is still running
            replaced.append(helper.validate(second))

    with pytest.raises(FtuiError, match="validation stopped before the end"):
        helper.validate(first, progress=progress)
    assert getattr(replaced[0], "valid", None) is True
    assert helper.validate(first).error_count == 1  # and the helper works on


def test_warm_starts_the_helper_and_a_validation_follows_it(helper, tmp_path):
    helper.warm()
    helper.warm()  # already running: nothing more
    assert helper.validate(_dataset(tmp_path / "t.jsonl")).error_count == 1
