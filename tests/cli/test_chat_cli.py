"""`ftui chat` on the local provider: streaming, `--compare`, `--json`, clear errors."""

from __future__ import annotations

import json

import pytest
from ftui_local.jobdir import JobDir, utcnow, write_json_atomic
from ftui_local.jobs import JobManager
from ftui_local.naming import fine_tuned_name
from support.run_cli import ftui


@pytest.fixture
def fine_tuned() -> str:
    """A finished job folder as the worker leaves it, with a real (freshly initialised) LoRA adapter.

    Built directly rather than trained: these tests are about the command, and training is covered
    by the job tests.
    """
    from ftui_local import models
    from peft import LoraConfig, get_peft_model

    jd: JobDir = JobManager().new_dir()
    name = fine_tuned_name("tiny-llama", "chat", jd.job_id)
    model = get_peft_model(
        models.load_model("tiny-llama", "cpu"),
        LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False),
    )
    model.save_pretrained(str(jd.adapter_dir))
    jd.write_spec(
        {
            "job_id": jd.job_id,
            "base_model": "tiny-llama",
            "method": "supervised",
            "fine_tuned_model": name,
            "hyperparameters": {},
        }
    )
    write_json_atomic(jd.state_path, {"status": "succeeded", "created_at": utcnow(), "finished_at": utcnow()})
    return name


@pytest.mark.slow
def test_compare_streams_both_answers_each_under_its_model_name(fine_tuned: str) -> None:
    code, out, err = ftui(
        "chat",
        "--model",
        fine_tuned,
        "--compare",
        "tiny-llama",
        "--system",
        "Be brief.",
        "--temperature",
        "0",
        "--max-tokens",
        "6",
        "Hello?",
    )
    assert code == 0, err
    first, second = out.index(f"── {fine_tuned} ──"), out.index("── tiny-llama ──")
    assert first < second
    assert out[first:second].strip() != f"── {fine_tuned} ──"  # an answer under each label

    code, out, _ = ftui(
        "chat",
        "--model",
        fine_tuned,
        "--compare",
        "tiny-llama",
        "--temperature",
        "0",
        "--max-tokens",
        "6",
        "--json",
        "Hello?",
    )
    answers = json.loads(out)["answers"]
    assert [a["model"] for a in answers] == [fine_tuned, "tiny-llama"]
    assert all(a["content"] for a in answers)


@pytest.mark.slow
def test_prompt_can_come_from_stdin() -> None:
    code, out, err = ftui("chat", "--model", "tiny-llama", "--max-tokens", "3", "--seed", "1", input="Hi\n")
    assert code == 0, err
    assert out.endswith("\n")


def test_unknown_model_and_bad_parameters_are_clear_errors() -> None:
    code, _, err = ftui("chat", "--model", "ft:tiny-llama:local::nope", "Hello?")
    assert code == 1 and "no such model" in err and "Traceback" not in err
    code, _, err = ftui("chat", "--model", "tiny-llama", "--temperature", "5", "Hello?")
    assert code == 2 and "--temperature" in err
    code, _, err = ftui("chat", "--model", "tiny-llama", "   ")
    assert code == 2 and "empty" in err
