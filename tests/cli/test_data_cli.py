"""`ftui data` through the real entry point: exit codes 0/1/2, --json, and files it writes."""

from __future__ import annotations

import json
from pathlib import Path

from support.run_cli import ftui

from ftui.data.samples import sample_path


def _chat_rows(n: int) -> str:
    return "".join(
        json.dumps(
            {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
        )
        + "\n"
        for i in range(n)
    )


def test_sample_prints_a_path_that_validates_with_exit_0() -> None:
    code, out, _ = ftui("data", "sample")
    assert code == 0 and Path(out.strip()) == sample_path()
    code, out, _ = ftui("data", "validate", out.strip(), "--model", "gpt-4o-mini")
    assert code == 0 and "valid" in out and "o200k_base, exact" in out and "$" in out
    code, out, _ = ftui("data", "sample", "--method", "dpo")
    assert code == 0 and out.strip().endswith("pirate_dpo.jsonl")


def test_invalid_file_exits_1_and_names_line_and_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_chat_rows(12) + "{oops\n" + '{"messages": [{"role": "user", "content": "x"}]}\n')
    code, out, err = ftui("data", "validate", str(bad))
    assert code == 1 and "Traceback" not in out + err
    assert "line 13: invalid_json" in out and "line 14: example_missing_assistant_message" in out


def test_json_output_is_the_documented_object(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_chat_rows(3) + "[]\n")
    code, out, _ = ftui("data", "validate", str(bad), "--json", "--model", "gpt-4o-mini-2024-07-18")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    assert {
        "line": 4,
        "code": "data_type",
        "message": "each line must be a JSON object, not an array",
    } in report["errors"]
    assert {e["code"] for e in report["errors"]} == {"data_type", "too_few_examples"}
    assert report["tokens"]["total"] > 0 and report["estimated_cost"] is not None


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = ftui("data", "validate", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "no such file" in err and "Traceback" not in err
    code, _, _ = ftui("data", "validate", str(sample_path()), "--method", "nonsense")
    assert code == 2


def test_method_flag_forces_the_method(tmp_path: Path) -> None:
    code, out, _ = ftui("data", "validate", str(sample_path()), "--method", "dpo", "--json")
    assert code == 1 and json.loads(out)["method"] == "dpo"


def test_stats_shows_tokens_turns_and_histogram() -> None:
    code, out, _ = ftui("data", "stats", str(sample_path()), "--json")
    stats = json.loads(out)
    assert code == 0 and stats["examples"] == 60 and stats["turns"]["max"] == 2
    assert sum(b["count"] for b in stats["length_histogram"]) == 60
    code, out, _ = ftui("data", "stats", str(sample_path()))
    assert code == 0 and "tokens per example" in out and "#" in out


def test_convert_then_validate(tmp_path: Path) -> None:
    src = tmp_path / "alpaca.jsonl"
    src.write_text(
        "".join(
            json.dumps({"instruction": f"q{i}", "input": "", "output": f"a{i}"}) + "\n" for i in range(10)
        )
    )
    out_path = tmp_path / "chat.jsonl"
    code, out, _ = ftui("data", "convert", str(src), "--to", "chat", "-o", str(out_path))
    assert code == 0 and "10 examples" in out
    assert ftui("data", "validate", str(out_path))[0] == 0
    code, _, err = ftui("data", "convert", str(src), "-o", str(out_path))
    assert code == 2 and "--force" in err


def test_split_is_deterministic(tmp_path: Path) -> None:
    src = tmp_path / "d.jsonl"
    src.write_text(_chat_rows(50))
    code, out, _ = ftui("data", "split", str(src), "--valid-fraction", "0.2", "--seed", "3", "--json")
    first = json.loads(out)
    assert code == 0 and first["valid_examples"] == 10 and first["train_examples"] == 40
    valid_1 = Path(first["valid"]).read_text()
    code, _, _ = ftui("data", "split", str(src), "--valid-fraction", "0.2", "--seed", "3", "--force")
    assert code == 0 and Path(first["valid"]).read_text() == valid_1
