"""`ftui eval` end to end on the real local provider: a fine-tuned tiny model against its base and a
few-shot prompting baseline, reports, the answer cache, bad input, and Ctrl-C / kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.eventually import eventually_sync
from support.run_cli import ftui
from support.tuned import ANSWER, rows, tuned_model, write

pytestmark = pytest.mark.slow


def test_fine_tuned_model_beats_its_base_and_few_shot_prompting(ftui_home: Path, tmp_path: Path):
    model = tuned_model(ftui_home)
    test = write(tmp_path / "test.jsonl", rows(12, "Greet guest {i}, please."))
    html, md = tmp_path / "report.html", tmp_path / "report.md"
    code, out, err = ftui(
        "eval", "-m", model, "-d", str(test), "-b", "tiny-llama", "--few-shot", "2",
        "-g", "exact", "-g", "contains", "--max-tokens", "8", "--json", "-o", str(html), "-o", str(md),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["schema"] == "ftui.eval.v1" and report["complete"] and report["n_examples"] == 12
    few = report["contenders"][2]
    assert few["kind"] == "few-shot" and few["model"] == "tiny-llama" and few["few_shot"] == 2
    assert report["summary"][model]["exact"]["mean"] == 1.0
    verdicts = {(c["baseline"], c["grader"]): c for c in report["comparisons"]}
    for baseline in ("tiny-llama", few["label"]):
        c = verdicts[(baseline, "exact")]
        assert c["wins"] == 12 and c["verdict"] == f"{model} beat {baseline}"
        assert c["p_adjusted"] < 0.05 and c["ci95"][0] > 0
    usage = report["usage"][model]
    assert usage["answered"] == 12 and usage["completion_tokens"] > 0 and usage["cost_usd"] == 0.0
    assert report["usage"][few["label"]]["prompt_tokens"] > report["usage"]["tiny-llama"]["prompt_tokens"]
    assert ANSWER in report["examples"][0]["outputs"][model]["output"]
    assert (
        "<script id='data' type='application/json'>" in html.read_text()
        and "## Comparisons" in md.read_text()
    )

    # Another grader re-grades the same answers: nothing is asked of the models again.
    code, out, err = ftui("eval", "-m", model, "-d", str(test), "-b", "tiny-llama", "-g", "fuzzy",
                          "--max-tokens", "8", "--json")  # fmt: skip
    assert code == 0, err
    again = json.loads(out)
    assert all(u["from_cache"] == u["answered"] == 12 for u in again["usage"].values())


def test_overlap_with_the_training_file_is_warned_about(ftui_home: Path, tmp_path: Path):
    train = write(tmp_path / "train.jsonl", rows(6, "Say hi to {i}"))
    test = write(
        tmp_path / "test.jsonl", rows(2, "Say hi to {i}") + rows(2, "Say  hi to {i}") + rows(2, "x{i}")
    )
    code, _, err = ftui(
        "eval", "-m", "tiny-llama", "-d", str(test), "--train", str(train), "--max-tokens", "2"
    )
    assert code == 0, err
    assert "4 of 6 test example(s) also appear in the training file" in err
    assert "2 exact, 2 differing only in whitespace" in err


@pytest.mark.parametrize(
    ("args", "message", "exit_code"),
    [
        (["-d", "missing.jsonl"], "missing.jsonl: no such file", 1),
        (["-d", "{good}", "-g", "nope"], "--grader 'nope': not a file", 2),
        (["-d", "{bad}"], ":2: not valid JSON", 1),
        (["-d", "{good}", "-o", "report.pdf"], "the report format comes from the suffix", 2),
        (["-d", "{good}", "--few-shot", "2"], "--few-shot 2 draws examples from the training file", 1),
    ],
)
def test_bad_input_gets_a_clear_message_and_no_traceback(tmp_path, monkeypatch, args, message, exit_code):
    monkeypatch.chdir(tmp_path)
    good = write(tmp_path / "good.jsonl", rows(2, "q{i}"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows(1, "q")[0]) + "\n{not json\n")
    args = [a.format(good=good, bad=bad) for a in args]
    code, _, err = ftui("eval", "-m", "tiny-llama", *args)
    assert code == exit_code and message in err and "Traceback" not in err


def _cached(home: Path) -> int:
    db = home / "cache" / "eval" / "answers.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_ctrl_c_and_kill_9_keep_finished_rows_and_a_rerun_does_only_the_rest(ftui_home: Path, tmp_path: Path):
    test = write(tmp_path / "test.jsonl", rows(40, "Tell me a long story about number {i}."))
    args = [sys.executable, "-m", "ftui", "eval", "-m", "tiny-llama", "-d", str(test),
            "--max-tokens", "48", "--concurrency", "1"]  # fmt: skip

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ
        )

    first = start()
    eventually_sync(lambda: _cached(ftui_home), lambda n: n >= 3, timeout=120, what="three answers cached")
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert "interrupted after" in err and "run the same command again" in err
    after_ctrl_c = _cached(ftui_home)

    second = start()
    eventually_sync(
        lambda: _cached(ftui_home), lambda n: n >= after_ctrl_c + 3, timeout=120, what="more answers"
    )
    second.kill()  # kill -9: no chance to clean up
    second.wait(timeout=60)
    after_kill = _cached(ftui_home)
    assert after_kill >= after_ctrl_c + 3

    code, out, err = ftui("eval", "-m", "tiny-llama", "-d", str(test), "--max-tokens", "48", "--json")
    assert code == 0, err
    report = json.loads(out)
    usage = report["usage"]["tiny-llama"]
    assert report["complete"] and usage["answered"] == 40
    assert usage["from_cache"] >= after_kill  # every row finished before the kill was kept
    assert _cached(ftui_home) == 40
