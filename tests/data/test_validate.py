"""`validate_path` reports every problem with its line and a stable code, counts tokens exactly,
and gives the same answer streamed in one process or fanned out to several."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftui.data.report import ValidationReport
from ftui.data.samples import sample_path
from ftui.data.scan import scan
from ftui.data.tokens import OpenAITokenizer
from ftui.data.validate import validate_path
from ftui.errors import FtuiError

GOOD = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy!"}]}


def chat(user: str = "Hi", reply: str = "Ahoy!") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]}


def write(path: Path, rows: list[Any]) -> Path:
    """Rows are objects (dumped as JSON) or raw str/bytes lines."""
    with path.open("wb") as fh:
        for row in rows:
            if isinstance(row, bytes):
                fh.write(row + b"\n")
            elif isinstance(row, str):
                fh.write(row.encode() + b"\n")
            else:
                fh.write(json.dumps(row).encode() + b"\n")
    return path


def codes_at(report: ValidationReport, line: int) -> set[str]:
    return {i.code for i in report.errors + report.warnings if i.line == line}


def test_shipped_sample_is_valid_with_exact_tokens_and_cost() -> None:
    report = validate_path(sample_path(), model="gpt-4o-mini-2024-07-18")
    assert report.valid and report.errors == [] and report.examples == 60
    assert report.format == "chat" and report.method == "supervised"
    assert report.exact and report.tokenizer == "o200k_base"
    assert 1000 < report.tokens.total < 5000
    epochs = report.epochs
    assert report.estimated_cost == round(3.0 * report.billed_tokens_per_epoch * epochs / 1e6, 4)


def test_json_object_has_exactly_the_documented_keys() -> None:
    dumped = validate_path(sample_path()).model_dump()
    assert set(dumped) == {
        "file",
        "format",
        "method",
        "examples",
        "valid",
        "errors",
        "warnings",
        "tokens",
        "billed_tokens_per_epoch",
        "estimated_cost",
    }
    assert set(dumped["tokens"]) == {"total", "max_example", "p50", "p95", "over_limit"}


REPLY = {"role": "assistant", "content": "y"}
BAD_LINES: list[tuple[Any, str]] = [
    ("not json at all", "invalid_json"),
    (b'{"messages": "\xff\xfe"}', "invalid_utf8"),
    ("[1, 2]", "data_type"),
    ({"foo": 1}, "missing_messages_list"),
    ({"messages": []}, "missing_messages_list"),
    ({"messages": [{"content": "x"}, {"role": "assistant", "content": "y"}]}, "message_missing_key"),
    (
        {"messages": [{"role": "user", "content": "x", "extra": 1}, {"role": "assistant", "content": "y"}]},
        "message_unrecognized_key",
    ),
    ({"messages": [{"role": "bot", "content": "x"}, REPLY]}, "unrecognized_role"),
    ({"messages": [{"role": "user", "content": ""}, REPLY]}, "missing_content"),
    ({"messages": [{"role": "user", "content": 5}, REPLY]}, "missing_content"),
    ({"messages": [{"role": "user", "content": "x"}]}, "example_missing_assistant_message"),
    (
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 2}]},
        "invalid_weight",
    ),
    (
        {"messages": [{"role": "user", "content": "x", "weight": 1}, {"role": "assistant", "content": "y"}]},
        "invalid_weight",
    ),
    (
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0}]},
        "no_trainable_message",
    ),
    (
        {"messages": [{"role": "user", "content": "x <|endoftext|>"}, {"role": "assistant", "content": "y"}]},
        "invalid_token",
    ),
    (
        {
            "messages": [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
                    ],
                },
            ]
        },
        "invalid_tool_calls",
    ),
    (
        {
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "tool", "content": "42"},
                {"role": "assistant", "content": "y"},
            ]
        },
        "message_missing_key",
    ),
    (
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "tools": {}},
        "invalid_tools",
    ),
    ({"prompt": "Q", "completion": "A"}, "needs_conversion"),
    ({"instruction": "Q", "input": "", "output": "A"}, "needs_conversion"),
    ({"conversations": [{"from": "human", "value": "Q"}]}, "needs_conversion"),
    (
        {
            "messages": [
                {"role": "user", "content": [{"type": "audio"}]},
                {"role": "assistant", "content": "y"},
            ]
        },
        "invalid_content_part",
    ),
]


@pytest.mark.parametrize(("bad", "code"), BAD_LINES, ids=[c for _, c in BAD_LINES])
def test_each_problem_has_its_code_and_line(tmp_path: Path, bad: Any, code: str) -> None:
    rows = [chat(f"q{i}") for i in range(12)]
    rows.insert(4, bad)  # line 5
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert not report.valid
    assert code in codes_at(report, 5), report.errors
    assert all(i.line == 5 for i in report.errors)


def test_every_problem_is_reported_and_lines_stay_right_after_bad_ones(tmp_path: Path) -> None:
    rows: list[Any] = [chat(f"q{i}") for i in range(20)]
    rows[1] = "{broken"
    rows[2] = ""
    rows[3] = b"\xff\xff"
    rows[7] = {"messages": [{"role": "user", "content": "x"}]}
    rows[15] = {"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": ""}]}
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert codes_at(report, 2) == {"invalid_json"}
    assert codes_at(report, 3) == {"blank_line"}
    assert codes_at(report, 4) == {"invalid_utf8"}
    assert codes_at(report, 8) == {"example_missing_assistant_message"}
    assert codes_at(report, 16) == {"unrecognized_role", "missing_content"}
    assert report.examples == 19 and report.error_count == 5


def test_blank_lines_and_duplicates_are_warnings_only(tmp_path: Path) -> None:
    rows: list[Any] = [chat(f"q{i}") for i in range(10)] + ["", chat("q3")]
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert report.valid
    assert codes_at(report, 11) == {"blank_line"}
    dup = [w for w in report.warnings if w.code == "duplicate_example"]
    assert [(w.line, w.message) for w in dup] == [(12, "same as line 4")]


def test_empty_file_and_too_few_examples(tmp_path: Path) -> None:
    empty = validate_path(write(tmp_path / "e.jsonl", []))
    assert not empty.valid and [e.code for e in empty.errors] == ["empty_file"]
    few = validate_path(write(tmp_path / "f.jsonl", [chat(f"q{i}") for i in range(9)]))
    assert not few.valid and [e.code for e in few.errors] == ["too_few_examples"]


def test_example_over_the_models_limit_is_an_error(tmp_path: Path) -> None:
    rows = [chat(f"q{i}") for i in range(10)] + [chat("word " * 100)]
    tok = OpenAITokenizer("o200k_base", max_tokens_per_example=50)
    report = validate_path(write(tmp_path / "d.jsonl", rows), tokenizer=tok)
    assert codes_at(report, 11) == {"example_too_long"}
    assert report.tokens.over_limit == 1
    assert report.billed_tokens_per_epoch == report.tokens.total - report.tokens.max_example + 50


def test_dpo_file_is_detected_and_shape_errors_reported(tmp_path: Path) -> None:
    good = json.loads(sample_path("dpo").read_text().splitlines()[0])
    rows: list[Any] = [good] * 0 + [
        dict(good, input={"messages": [{"role": "user", "content": f"q{i}"}]}) for i in range(12)
    ]
    rows[2] = dict(good, preferred_output=[])
    rows[3] = {
        "input": {"messages": []},
        "preferred_output": good["preferred_output"],
        "non_preferred_output": good["non_preferred_output"],
    }
    rows[4] = dict(good, non_preferred_output=good["preferred_output"])
    rows[5] = chat()
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert report.format == "preference" and report.method == "dpo"
    assert codes_at(report, 3) == {"invalid_preferred_output"}
    assert codes_at(report, 4) == {"missing_input"}
    assert "identical_outputs" in codes_at(report, 5)
    assert codes_at(report, 6) == {"method_mismatch"}


def test_shipped_dpo_sample_is_valid() -> None:
    report = validate_path(sample_path("dpo"))
    assert report.valid and report.method == "dpo" and report.examples >= 10


def test_reinforcement_file_is_detected_and_needs_a_user_prompt_last(tmp_path: Path) -> None:
    rows: list[Any] = [
        {"messages": [{"role": "user", "content": f"2+{i}?"}], "reference_answer": str(2 + i)}
        for i in range(12)
    ]
    rows[3] = {
        "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],
        "reference_answer": "y",
    }
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert report.format == "reinforcement" and report.method == "reinforcement"
    assert codes_at(report, 4) == {"last_message_not_user"}
    assert report.estimated_cost is None


def test_forcing_a_method_reports_lines_of_another_shape(tmp_path: Path) -> None:
    rows = [chat(f"q{i}") for i in range(10)]
    report = validate_path(write(tmp_path / "d.jsonl", rows), method="dpo")
    assert not report.valid and all(e.code == "method_mismatch" for e in report.errors)


def test_prompt_completion_is_accepted_for_legacy_completion_models(tmp_path: Path) -> None:
    rows = [{"prompt": f"q{i} ->", "completion": f" a{i}"} for i in range(10)]
    path = write(tmp_path / "d.jsonl", rows)
    assert validate_path(path, model="babbage-002").valid
    chat_model = validate_path(path, model="gpt-4o-mini")
    assert not chat_model.valid and {e.code for e in chat_model.errors} == {"needs_conversion"}


def test_tool_calls_and_tools_are_accepted(tmp_path: Path) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    row = {
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "add"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "1"},
            {"role": "assistant", "content": "one", "weight": 1},
        ],
        "tools": [{"type": "function", "function": {"name": "add", "parameters": {}}}],
        "parallel_tool_calls": False,
    }
    rows = [
        dict(
            row,
            messages=[*row["messages"][:1], {"role": "user", "content": f"add {i}"}, *row["messages"][2:]],
        )
        for i in range(10)
    ]
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert report.valid, report.errors


def test_missing_path_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FtuiError, match="no such file"):
        validate_path(tmp_path / "nope.jsonl")


def test_progress_reaches_the_file_size(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [chat(f"q{i}") for i in range(50)])
    seen: list[tuple[int, int]] = []
    validate_path(path, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_worker_processes_give_the_same_result_as_one_process(tmp_path: Path) -> None:
    rows: list[Any] = []
    for i in range(400):
        if i % 37 == 5:
            rows.append("{bad json")
        elif i % 53 == 7:
            rows.append("")
        elif i % 61 == 0:
            rows.append(chat("same question"))
        else:
            rows.append(chat(f"question number {i} " * (i % 7 + 1), "Ahoy! " * (i % 5 + 1)))
    path = write(tmp_path / "d.jsonl", rows)
    tok = OpenAITokenizer("o200k_base")
    one = scan(path, method="supervised", tokenizer=tok, workers=1, chunk=1024)
    many = scan(path, method="supervised", tokenizer=tok, workers=2, chunk=1024)
    whole = scan(path, method="supervised", tokenizer=tok, workers=1, chunk=1 << 20)
    for other in (many, whole):
        assert other.errors == one.errors and other.warnings == one.warnings
        assert other.token_hist == one.token_hist and other.lines == one.lines == 400
        assert (other.examples, other.valid, other.billed) == (one.examples, one.valid, one.billed)
    assert {line for line, code, _ in one.errors if code == "invalid_json"} == {
        i + 1 for i in range(400) if i % 37 == 5
    }


def test_file_without_trailing_newline_and_crlf_line_ends(tmp_path: Path) -> None:
    body = "\r\n".join(json.dumps(chat(f"q{i}")) for i in range(10))
    path = tmp_path / "d.jsonl"
    path.write_bytes(body.encode())
    report = validate_path(path)
    assert report.valid and report.examples == 10


async def test_validation_in_a_thread_beside_an_event_loop_can_use_worker_processes(tmp_path: Path) -> None:
    """The TUI calls validate_path through asyncio.to_thread; the worker pool must start safely there."""
    import asyncio

    path = write(tmp_path / "d.jsonl", [chat(f"q{i}") for i in range(200)])
    threaded = await asyncio.to_thread(validate_path, path, workers=2)
    assert threaded.model_dump() == validate_path(path, workers=1).model_dump()


def test_a_line_too_long_to_hold_is_reported_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ftui.data.scan as scan_module

    monkeypatch.setattr(scan_module, "MAX_LINE_BYTES", 1000)
    rows: list[Any] = [chat(f"q{i}") for i in range(12)]
    rows.insert(2, chat("x" * 5000))
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert codes_at(report, 3) == {"line_too_long"}
    assert report.examples == 13 and report.error_count == 1


@pytest.mark.parametrize(
    ("encode", "code", "words"),
    [
        (lambda text: __import__("gzip").compress(text), "compressed_file", "this is a gzip file"),
        (lambda text: text.decode().encode("utf-16"), "not_utf8", "this is UTF-16 text"),
        (lambda text: text.decode().encode("utf-16-le"), "not_utf8", "this is UTF-16 text"),
    ],
    ids=["gzip", "utf16", "utf16-no-bom"],
)
def test_a_gzip_or_utf16_file_gets_one_error_saying_what_it_is(tmp_path: Path, encode, code, words) -> None:
    plain = write(tmp_path / "plain.jsonl", [chat(f"q{i}") for i in range(20)]).read_bytes()
    path = tmp_path / "d.jsonl"
    path.write_bytes(encode(plain))
    report = validate_path(path)
    assert not report.valid and report.error_count == 1
    [error] = report.errors
    assert (error.line, error.code) == (0, code) and words in error.message


def test_a_duplicate_messages_key_is_a_warning_on_its_line(tmp_path: Path) -> None:
    rows: list[Any] = [chat(f"q{i}") for i in range(12)]
    first = json.dumps(chat("dropped")["messages"])
    rows[4] = f'{{"messages": {first}, "messages": {json.dumps(chat("kept")["messages"])}}}'
    rows[6] = chat("messages", "messages")  # the word as a value is not a duplicate key
    report = validate_path(write(tmp_path / "d.jsonl", rows))
    assert report.valid
    assert [(w.line, w.code) for w in report.warnings] == [(5, "duplicate_key")]
    assert "'messages' appears twice" in report.warnings[0].message


def _big_file(path: Path, mb: int = 9) -> Path:
    row = json.dumps(chat("q " * 200, "a " * 200)) + "\n"
    path.write_text(row * (mb * 1_000_000 // len(row)))
    return path


def test_a_file_deleted_while_it_is_read_is_one_clear_error(tmp_path: Path) -> None:
    path = _big_file(tmp_path / "d.jsonl")

    def delete_it(done: int, total: int) -> None:
        path.unlink(missing_ok=True)

    with pytest.raises(FtuiError, match="deleted or moved while it was being read"):
        validate_path(path, progress=delete_it, workers=1)


def test_a_file_still_being_written_is_not_reported_on(tmp_path: Path) -> None:
    path = _big_file(tmp_path / "d.jsonl")

    def append(done: int, total: int) -> None:
        with path.open("a") as fh:
            fh.write(json.dumps(chat()) + "\n")

    with pytest.raises(FtuiError, match="changed while it was being read"):
        validate_path(path, progress=append, workers=1)
