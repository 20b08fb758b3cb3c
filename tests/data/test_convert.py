from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.data.convert import convert_file
from ftui.data.validate import validate_path
from ftui.errors import FtuiError, UsageError


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_prompt_completion_becomes_valid_chat(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "pc.jsonl", [{"prompt": f"Q{i}\n\n###\n\n", "completion": f" A{i} END"} for i in range(10)]
    )
    assert convert_file(src, tmp_path / "out.jsonl") == 10
    first = _read(tmp_path / "out.jsonl")[0]
    assert first == {
        "messages": [{"role": "user", "content": "Q0\n\n###"}, {"role": "assistant", "content": "A0 END"}]
    }
    assert validate_path(tmp_path / "out.jsonl").valid


def test_alpaca_joins_instruction_and_input(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "a.jsonl",
        [
            {"instruction": "Translate", "input": "hola", "output": "hello"},
            {"instruction": "Say hi", "input": "", "output": "hi"},
        ],
    )
    convert_file(src, tmp_path / "out.jsonl")
    rows = _read(tmp_path / "out.jsonl")
    assert rows[0]["messages"][0] == {"role": "user", "content": "Translate\n\nhola"}
    assert rows[1]["messages"] == [
        {"role": "user", "content": "Say hi"},
        {"role": "assistant", "content": "hi"},
    ]


def test_sharegpt_maps_speakers_to_roles(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "s.jsonl",
        [
            {
                "conversations": [
                    {"from": "system", "value": "be brief"},
                    {"from": "human", "value": "hi"},
                    {"from": "gpt", "value": "hello"},
                ]
            }
        ],
    )
    convert_file(src, tmp_path / "out.jsonl")
    roles = [m["role"] for m in _read(tmp_path / "out.jsonl")[0]["messages"]]
    assert roles == ["system", "user", "assistant"]


def test_bad_lines_stop_the_conversion_and_name_their_lines(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "s.jsonl",
        [
            {"prompt": "q", "completion": "a"},
            {"weird": 1},
            {"conversations": [{"from": "alien", "value": "x"}]},
        ],
    )
    with pytest.raises(FtuiError, match=r"line 2: .*\n.*line 3: .*alien"):
        convert_file(src, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary file left behind
    assert convert_file(src, tmp_path / "out.jsonl", skip_invalid=True) == 1


def test_never_overwrites_the_input_or_an_existing_output(tmp_path: Path) -> None:
    src = _write(tmp_path / "pc.jsonl", [{"prompt": "q", "completion": "a"}])
    before = src.read_bytes()
    with pytest.raises(UsageError, match="input"):
        convert_file(src, src, force=True)
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n")
    with pytest.raises(UsageError, match="--force"):
        convert_file(src, out)
    assert out.read_text() == "keep me\n" and src.read_bytes() == before
    assert convert_file(src, out, force=True) == 1
