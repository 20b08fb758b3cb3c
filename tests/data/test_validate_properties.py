"""Whatever bytes a file holds, validation never raises and every issue carries a line number."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftui.data.validate import validate_path

FILE_LEVEL = {
    "empty_file",
    "too_few_examples",
    "too_many_issues",
    "format_method_mismatch",
    "compressed_file",
    "not_utf8",
    "binary_file",
    "duplicates_not_checked",
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "messages",
                    "role",
                    "content",
                    "weight",
                    "name",
                    "tool_calls",
                    "input",
                    "preferred_output",
                    "prompt",
                    "completion",
                    "x",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)

VALID = {
    "messages": [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "weight": 1},
    ]
}


def _mutations() -> st.SearchStrategy[Any]:
    keys = st.sampled_from(["role", "content", "weight", "name", "tool_calls", "extra"])
    values = (
        st.none()
        | st.integers(-2, 3)
        | st.text(max_size=8)
        | st.lists(st.integers(), max_size=2)
        | st.sampled_from(["assistant", "user", "tool", "<|endoftext|>", ""])
    )

    @st.composite
    def mutate(draw: st.DrawFn) -> Any:
        example = json.loads(json.dumps(VALID))
        for _ in range(draw(st.integers(1, 3))):
            m = example["messages"][draw(st.integers(0, 2))]
            if draw(st.booleans()):
                m[draw(keys)] = draw(values)
            else:
                m.pop(draw(keys), None)
        return example

    return mutate()


def _check(data: bytes, method: str | None = None) -> None:
    fd, name = tempfile.mkstemp(suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        report = validate_path(Path(name), method=method, workers=1)
    finally:
        os.unlink(name)
    for issue in report.errors + report.warnings:
        assert isinstance(issue.line, int) and issue.code and issue.message
        assert issue.code != "check_failed", issue
        if issue.code in FILE_LEVEL:
            assert issue.line == 0
        else:
            assert 1 <= issue.line <= n_lines, (issue, n_lines)
    assert report.valid == (not report.errors)
    json.dumps(report.model_dump())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(json_values, max_size=12),
    method=st.sampled_from([None, "supervised", "dpo", "reinforcement"]),
)
def test_random_json_never_raises(rows: list[Any], method: str | None) -> None:
    _check(b"".join(json.dumps(r).encode() + b"\n" for r in rows), method)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_mutations(), min_size=1, max_size=12))
def test_mutated_valid_examples_never_raise(rows: list[Any]) -> None:
    _check(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
