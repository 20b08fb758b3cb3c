"""`ftui jobs create` refuses hyperparameters the trainer would refuse (or that train a broken
model) before any job exists; `jobs list --json` is strict JSON even for jobs stored before that."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from support.factories import write_dataset
from support.run_cli import ftui


def _no_jobs() -> bool:
    code, out, _ = ftui("jobs", "list", "--json")
    return code == 0 and json.loads(out) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--lr-multiplier", "inf"], "finite"),
        (["--lr-multiplier", "nan"], "finite"),
        (["--lr-multiplier", "1e300"], "at most 1000"),
        (["--lr-multiplier", "0"], "above 0"),
        (["--epochs", "0"], "at least 1"),
        (["--batch-size", "1e3"], "whole number"),
        (["--beta", "0.5"], "only dpo"),
        (["--method", "dpo", "--beta", "inf"], "finite"),
        (["--hp", "lora_r=0"], "--hp lora_r: expected a whole number at least 1"),
        (["--hp", "lora_alpha=inf"], "finite"),
        (["--hp", "batching=sideways"], "one of auto, padded"),
        (["--hp", "lora_rr=8"], "did you mean 'lora_r'"),
        (["--hp", "n_epochs=3"], "use its own option"),
    ],
)
def test_bad_settings_exit_2_with_one_line_and_no_job(tmp_path: Path, args: list[str], says: str) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    code, out, err = ftui("jobs", "create", "--model", "tiny-llama", "--training-file", str(data), *args)
    assert code == 2, (out, err)
    assert says in err and "Traceback" not in err
    assert _no_jobs()


def test_jobs_list_json_never_holds_infinity_even_for_a_job_stored_before_the_bounds() -> None:
    from ftui_local.jobs import JobManager

    manager = JobManager()
    jd = manager.new_dir()
    manager.submit(
        jd,
        {
            "base_model": "tiny-llama",
            "training_file": "t.jsonl",
            "hyperparameters": {"learning_rate_multiplier": math.inf, "extra": {"lora_alpha": math.nan}},
        },
    )
    jd.update_state(
        status="failed",
        progress=math.inf,
        resolved_hyperparameters={"learning_rate": math.inf, "n_epochs": 3},
        error={"code": "training_error", "message": "old"},
    )

    def strict(text: str) -> object:
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))

    code, out, err = ftui("jobs", "list", "--json")
    assert code == 0, err
    (job,) = strict(out)
    assert job["hyperparameters"]["n_epochs"] == 3
    assert job["hyperparameters"]["learning_rate_multiplier"] == "auto"
    code, out, err = ftui("jobs", "show", jd.job_id, "--json")
    assert code == 0, err
    strict(out)
