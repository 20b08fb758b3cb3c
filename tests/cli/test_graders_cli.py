"""`ftui graders validate` and `ftui graders run`: OpenAI's grader endpoints, on this machine."""

from __future__ import annotations

import json
from pathlib import Path

from support.run_cli import ftui

MULTI = {
    "type": "multi",
    "name": "answer",
    "graders": {
        "exact": {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                  "reference": "{{item.reference}}", "operation": "eq"},
        "fuzzy": {"type": "text_similarity", "name": "fuzzy", "input": "{{sample.output_text}}",
                  "reference": "{{item.reference}}", "evaluation_metric": "fuzzy_match"},
    },
    "calculate_output": "0.5 * exact + 0.5 * fuzzy",
}  # fmt: skip


def test_validate_accepts_a_good_grader_and_names_file_line_and_field_of_a_bad_one(tmp_path: Path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(MULTI, indent=2))
    code, out, err = ftui("graders", "validate", str(good))
    assert code == 0 and "answer (multi): valid" in out, err
    code, out, _ = ftui("graders", "validate", str(good), "--json")
    assert code == 0 and json.loads(out)["grader"]["graders"]["exact"]["operation"] == "eq"

    bad = tmp_path / "bad.json"
    broken = json.loads(json.dumps(MULTI))
    broken["graders"]["fuzzy"]["evaluation_metric"] = "levenshtein"
    bad.write_text(json.dumps(broken, indent=2))
    code, _, err = ftui("graders", "validate", str(bad))
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "levenshtein" in text)
    assert code == 2 and f"{bad}:{line}: field 'graders.fuzzy.evaluation_metric'" in err
    assert "Traceback" not in err


def test_run_grades_a_sample_against_an_item(tmp_path: Path):
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(MULTI))
    code, out, err = ftui(
        "graders", "run", str(grader), "--sample", "Paris", "--item", '{"reference": "Paris"}'
    )
    assert code == 0 and "reward: 1" in out and "exact: 1" in out, err
    code, out, err = ftui(
        "graders", "run", str(grader), "-s", "Lyon", "-i", '{"reference": "Paris"}', "--json"
    )
    body = json.loads(out)
    assert body["reward"] < 0.5 and body["sub_rewards"]["exact"] == 0.0
    assert len(body["metadata"]["errors"]) == 14 and not any(v for v in body["metadata"]["errors"].values())
    assert body["metadata"]["name"] == "answer" and body["metadata"]["type"] == "multi"


def test_run_reports_grader_errors_and_bad_items(tmp_path: Path):
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(MULTI))
    code, out, err = ftui("graders", "run", str(grader), "-s", "x", "-i", "{}")
    assert code == 0 and "invalid_variable_error" in out
    code, _, err = ftui("graders", "run", str(grader), "-s", "x", "-i", "[1]")
    assert code == 2 and "--item: must be a JSON object" in err
    code, _, err = ftui("graders", "run", str(grader), "-s", "x", "-i", "{oops")
    assert code == 2 and "--item: not valid JSON" in err
    sample = tmp_path / "sample.txt"
    sample.write_text("Paris")
    code, out, _ = ftui("graders", "run", str(grader), "-s", f"@{sample}", "-i", '{"reference": "Paris"}')
    assert code == 0 and "reward: 1" in out
