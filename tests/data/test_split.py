from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.data.split import split_file, valid_count
from ftui.errors import FtuiError, UsageError


def _src(tmp_path: Path, n: int = 100) -> Path:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(n)) + "\n")  # a blank line too
    return path


def _ids(path: Path) -> list[int]:
    return [json.loads(line)["i"] for line in path.read_text().splitlines()]


def test_split_is_exact_disjoint_complete_and_keeps_order(tmp_path: Path) -> None:
    train, valid = split_file(_src(tmp_path), 0.2, seed=7)
    assert train.name == "d.train.jsonl" and valid.name == "d.valid.jsonl"
    t, v = _ids(train), _ids(valid)
    assert len(v) == 20 and len(t) == 80
    assert sorted(t + v) == list(range(100)) and t == sorted(t) and v == sorted(v)


def test_same_seed_same_split_other_seed_other_split(tmp_path: Path) -> None:
    src = _src(tmp_path)
    a = _ids(split_file(src, 0.1, seed=1, valid_out=tmp_path / "a.jsonl", train_out=tmp_path / "at.jsonl")[1])
    b = _ids(split_file(src, 0.1, seed=1, valid_out=tmp_path / "b.jsonl", train_out=tmp_path / "bt.jsonl")[1])
    c = _ids(split_file(src, 0.1, seed=2, valid_out=tmp_path / "c.jsonl", train_out=tmp_path / "ct.jsonl")[1])
    assert a == b and a != c


def test_both_sides_keep_at_least_one_example() -> None:
    assert valid_count(5, 0.01) == 1 and valid_count(5, 0.99) == 4 and valid_count(1000, 0.1) == 100


def test_refuses_existing_outputs_without_force_and_bad_fractions(tmp_path: Path) -> None:
    src = _src(tmp_path)
    split_file(src, 0.1, seed=0)
    with pytest.raises(UsageError, match="--force"):
        split_file(src, 0.1, seed=0)
    split_file(src, 0.1, seed=0, force=True)
    with pytest.raises(UsageError):
        split_file(src, 1.5, seed=0, force=True)
    with pytest.raises(UsageError, match="input"):
        split_file(src, 0.1, seed=0, train_out=src, force=True)


def test_split_refuses_lines_that_are_not_json_objects_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(20)) + "{oops\n[1, 2]\n")
    with pytest.raises(FtuiError, match=r"2 line\(s\) are not JSON objects") as err:
        split_file(src, 0.2, seed=0)
    assert "line 21: not valid JSON" in str(err.value) and "line 22: not a JSON object" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl"]


def test_split_reads_lines_as_validation_does_and_writes_them_clean(tmp_path: Path) -> None:
    src = tmp_path / "d.jsonl"
    rows = [json.dumps({"i": i}, indent=1).replace("\n", "\r") for i in range(10)]  # CR inside a line
    src.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    train, valid = split_file(src, 0.3, seed=0)
    out = train.read_bytes() + valid.read_bytes()
    assert b"\xef\xbb\xbf" not in out and out.count(b"\n") == 10
    assert sorted(json.loads(line)["i"] for line in out.split(b"\n") if line) == list(range(10))


def test_a_file_that_changes_between_the_two_passes_is_not_split(tmp_path: Path, monkeypatch) -> None:
    import ftui.data.split as split_module

    src = _src(tmp_path, 50)
    count = split_module._count_objects

    def count_then_append(path: Path) -> int:
        n = count(path)
        with path.open("a") as fh:  # a writer still appending while the split runs
            fh.write(json.dumps({"i": 50}) + "\n")
        return n

    monkeypatch.setattr(split_module, "_count_objects", count_then_append)
    with pytest.raises(FtuiError, match="changed while it was being read"):
        split_file(src, 0.2, seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl"]
