"""`ftui data` through the real entry point: exit codes 0/1/2, --json, and files it writes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
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


def _ftui_process(*args: str, shell: str | None = None) -> subprocess.CompletedProcess[str]:
    """`ftui ARGS` as its own process (or `shell`, a bash line, with `ftui` on its PATH): a hang
    fails the test after 60 s instead of stalling the suite."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = ["bash", "-c", shell] if shell else [sys.executable, "-m", "ftui", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)


def _one_clear_line(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "{f}"],
        ["validate", "{f}", "--json"],
        ["stats", "{f}"],
        ["split", "{f}", "--train-out", "{d}/t.jsonl", "--valid-out", "{d}/v.jsonl"],
        ["convert", "{f}", "-o", "{d}/out.jsonl"],
    ],
    ids=["validate", "validate-json", "stats", "split", "convert"],
)
def test_every_data_command_refuses_a_fifo_at_once(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "data.jsonl"
    os.mkfifo(fifo)
    args = [part.format(f=fifo, d=tmp_path) for part in command]
    _one_clear_line(_ftui_process("data", *args), "is a pipe, not a regular file")
    assert not any(p.name.endswith(".jsonl") and p != fifo for p in tmp_path.iterdir())


def test_piped_input_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl.gz"
    data.write_bytes(gzip.compress(_chat_rows(20).encode()))
    proc = _ftui_process(shell=f"ftui data validate <(zcat {data})")
    _one_clear_line(proc, "is a pipe, not a regular file; save it to a file first")


def test_a_gzip_file_is_named_once_not_invalid_utf8_on_every_line(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_bytes(gzip.compress(_chat_rows(200).encode()))
    proc = _ftui_process("data", "validate", str(data))
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "this is a gzip file, not UTF-8 JSONL" in proc.stdout and "invalid_utf8" not in proc.stdout
    proc = _ftui_process("data", "split", str(data))
    _one_clear_line(proc, "this is a gzip file")


IMPORTS_AFTER = r"""
import sys
from ftui.launch import main
sys.argv = ["ftui", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("model", [[], ["--model", "gpt-4o-mini"]], ids=["default", "openai-model"])
def test_validate_loads_no_plugin_config_provider_or_pydantic(model: list[str]) -> None:
    """What `ftui data validate FILE` costs before it reads a byte is its startup: it needs a
    tokenizer, not the plugin registry, the config, a provider or pydantic's models."""
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, "data", "validate", str(sample_path()), "--json", *model],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["valid"], proc.stderr
    loaded = set(proc.stderr.split())
    for heavy in ("ftui.plugins", "pluggy", "ftui.session", "ftui.config", "ftui.provider", "pydantic"):
        assert heavy not in loaded, heavy


def test_a_local_model_name_still_asks_the_active_provider_for_its_tokenizer(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(_chat_rows(12))
    proc = _ftui_process("data", "validate", str(data), "--model", "tiny-llama")
    assert proc.returncode == 0, proc.stderr
    assert "tiny-llama, exact" in proc.stdout and "$0.00" in proc.stdout
