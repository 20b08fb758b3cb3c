"""The TUI's job form checks hyperparameters against the same table as the CLI and the API."""

from __future__ import annotations

import pytest

from ftui.tui.screens.job_form import FormError, build_spec


@pytest.mark.parametrize(
    ("field", "text", "says"),
    [
        ("learning_rate_multiplier", "inf", "lr multiplier: must be a finite number"),
        ("learning_rate_multiplier", "nan", "lr multiplier: must be a finite number"),
        (
            "learning_rate_multiplier",
            "1e300",
            "lr multiplier: expected a finite number above 0 and at most 1000",
        ),
        ("n_epochs", "51", "epochs: expected a whole number at least 1 and at most 50"),
        ("batch_size", "1e9", "batch size: expected a whole number"),
        ("seed", "99999999999999999999", "seed"),
    ],
)
def test_out_of_range_values_are_a_form_error_naming_the_field(field: str, text: str, says: str) -> None:
    with pytest.raises(FormError, match=says):
        build_spec({"training_file": "a.jsonl", field: text}, "tiny-llama", "supervised")


def test_values_at_the_bounds_are_accepted() -> None:
    spec = build_spec(
        {"training_file": "a.jsonl", "n_epochs": "50", "batch_size": "256", "learning_rate_multiplier": "10"},
        "tiny-llama",
        "supervised",
    )
    assert spec.hyperparameters.n_epochs == 50 and spec.hyperparameters.learning_rate_multiplier == 10


def test_a_reinforcement_job_takes_its_grader_file_from_the_form(tmp_path) -> None:
    import json

    grader = {"type": "string_check", "name": "ahoy", "input": "{{sample.output_text}}",
              "reference": "ahoy", "operation": "eq"}  # fmt: skip
    path = tmp_path / "grader.json"
    path.write_text(json.dumps(grader), encoding="utf-8")
    with pytest.raises(FormError, match="grader file: reinforcement needs one"):
        build_spec({"training_file": "a.jsonl"}, "tiny-llama", "reinforcement")
    with pytest.raises(FormError, match="grader file: only reinforcement"):
        build_spec({"training_file": "a.jsonl", "grader_file": str(path)}, "tiny-llama", "supervised")
    path.with_name("bad.json").write_text('{"type": "string_check"}', encoding="utf-8")
    with pytest.raises(FormError, match=r"grader file: .*bad\.json"):
        build_spec({"training_file": "a.jsonl", "grader_file": str(path.with_name("bad.json"))},
                   "tiny-llama", "reinforcement")  # fmt: skip
    spec = build_spec({"training_file": "a.jsonl", "grader_file": str(path)}, "tiny-llama", "reinforcement")
    assert spec.grader == grader
