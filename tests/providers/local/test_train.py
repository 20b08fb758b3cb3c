"""The training entry script, run for real on tiny-llama: SFT, DPO, pause/resume, cancel, SageMaker mode."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading

import pytest
from ftui_local import train
from ftui_local.train_data import IGNORE, encode_chat, load_dpo, load_sft
from ftui_local.train_hparams import auto_batch_size, auto_epochs, resolve
from support.eventually import eventually_sync

from .conftest import chat_rows, dpo_rows, write_jsonl

pytestmark = pytest.mark.slow


def messages(job) -> list[str]:
    return [e["message"] for e in job.events() if e["type"] == "message"]


def metric_points(job) -> list[dict]:
    return [e["metrics"] for e in job.events() if e["type"] == "metrics"]


def test_sft_job_trains_logs_metrics_keeps_three_epoch_checkpoints_and_saves_adapter(
    make_job, chat_file, tmp_path, capsys
):
    valid = write_jsonl(tmp_path / "valid.jsonl", chat_rows(2))
    job = make_job(
        chat_file,
        validation_path=str(valid),
        hyperparameters={"n_epochs": 4, "batch_size": 4, "extra": {"lora_r": 4}},
    )

    assert train.run(job.path) == 0

    state = job.read_state()
    assert state["status"] == "succeeded"
    assert state["step"] == state["total_steps"] == 8
    assert state["trained_tokens"] > 0
    assert state["resolved_hyperparameters"]["lora_r"] == 4
    msgs = messages(job)
    assert msgs[0] == "Fine-tuning job started"
    assert any(m.startswith("Step 1/8: training loss=") for m in msgs)
    assert "Checkpoint created at step 8" in msgs
    assert msgs[-1] == "The job has successfully completed"
    points = metric_points(job)
    train_points = [p for p in points if p["train_loss"] is not None]
    assert [p["step"] for p in train_points] == list(range(1, 9))
    assert all(p["train_mean_token_accuracy"] is not None and p["learning_rate"] for p in train_points)
    assert any(p["valid_loss"] is not None for p in points)
    # One checkpoint per epoch, the last three kept on disk and listed.
    assert [c["step"] for c in job.checkpoints()] == [4, 6, 8]
    assert sorted(p.name for p in job.checkpoints_dir.glob("checkpoint-*")) == [
        "checkpoint-4",
        "checkpoint-6",
        "checkpoint-8",
    ]
    assert (job.adapter_dir / "adapter_config.json").exists()
    assert (job.adapter_dir / "tokenizer.json").exists()
    with job.result_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "step",
        "train_loss",
        "train_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
    ]
    assert len(rows) == 8 and rows[0]["train_loss"]
    out = capsys.readouterr().out
    lines = [
        json.loads(line.split(" ", 1)[1]) for line in out.splitlines() if line.startswith("FTUI_METRICS ")
    ]
    assert {
        "step",
        "total_steps",
        "epoch",
        "train_loss",
        "train_mean_token_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
        "learning_rate",
        "tokens_per_second",
    } <= set(lines[0])


def test_pause_saves_a_checkpoint_and_resume_continues_from_it_to_the_end(make_job, chat_file):
    """Also: a checkpoint folder a killed worker left half written is skipped on resume."""
    job = make_job(chat_file)  # 2 epochs x 2 steps
    job.set_control("pause")

    assert train.run(job.path) == 0
    state = job.read_state()
    assert state["status"] == "paused" and state["step"] == 1
    assert [c["step"] for c in job.checkpoints()] == [1]
    assert messages(job).count("Checkpoint created at step 1") == 1
    assert job.control() is None

    (job.checkpoints_dir / "checkpoint-3").mkdir()  # killed mid-save: no trainer_state.json
    job.write_spec({**job.read_spec(), "resume": True})
    assert train.run(job.path) == 0

    state = job.read_state()
    assert state["status"] == "succeeded" and state["step"] == 4
    assert "Fine-tuning job resumed from the checkpoint at step 1" in messages(job)
    train_steps = [p["step"] for p in metric_points(job) if p["train_loss"] is not None]
    assert train_steps == [1, 2, 3, 4]  # nothing redone, nothing skipped
    assert (job.adapter_dir / "adapter_model.safetensors").exists()


def test_cancel_before_the_first_step_ends_the_job_without_training(make_job, chat_file):
    job = make_job(chat_file)
    job.set_control("cancel")

    assert train.run(job.path) == 0
    assert job.read_state()["status"] == "cancelled"
    assert not metric_points(job) and not job.adapter_dir.exists()


def test_cancel_written_during_training_stops_after_the_current_step(make_job, chat_file):
    job = make_job(chat_file, hyperparameters={"n_epochs": 20, "batch_size": 2})  # 80 steps

    def cancel_after_first_step() -> None:
        eventually_sync(lambda: metric_points(job), interval=0.02, what="a first step")
        job.set_control("cancel")

    watcher = threading.Thread(target=cancel_after_first_step, daemon=True)
    watcher.start()
    assert train.run(job.path) == 0
    watcher.join(timeout=5)

    state = job.read_state()
    assert state["status"] == "cancelled" and state["finished_at"]
    assert state["step"] < state["total_steps"] == 80
    assert not job.adapter_dir.exists()
    assert messages(job)[-1] == "Fine-tuning job cancelled"
    assert job.control() is None


@pytest.mark.parametrize("moment", ["after the last step", "while the adapter is saved"])
def test_a_job_cancelled_after_its_last_step_never_ends_succeeded(make_job, chat_file, monkeypatch, moment):
    from ftui_local.jobs import JobManager

    job = make_job(chat_file)
    manager = JobManager(job.path.parent)
    if moment == "after the last step":
        from ftui_local.train_callback import JobCallback

        def on_train_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            manager.cancel(job.job_id)

        monkeypatch.setattr(JobCallback, "on_train_end", on_train_end, raising=False)
    else:
        save = train._save_adapter

        def cancel_then_save(*args):  # type: ignore[no-untyped-def]
            manager.cancel(job.job_id)
            save(*args)

        monkeypatch.setattr(train, "_save_adapter", cancel_then_save)

    assert train.run(job.path) == 0
    state = job.read_state()
    assert state["status"] == "cancelled"
    assert not job.adapter_dir.exists()
    assert "The job has successfully completed" not in messages(job)
    assert manager.to_job(job).fine_tuned_model is None


def test_a_worker_starting_on_a_cancelled_job_does_not_train(make_job, chat_file):
    job = make_job(chat_file)
    job.update_state(status="cancelled")
    assert train.run(job.path) == 0
    assert job.read_state()["status"] == "cancelled" and not metric_points(job)


def test_dpo_job_trains_on_openai_preference_data(make_job, tmp_path):
    data = write_jsonl(tmp_path / "prefs.jsonl", dpo_rows(4))
    job = make_job(data, method="dpo", hyperparameters={"n_epochs": 1, "batch_size": 2, "beta": 0.2})

    assert train.run(job.path) == 0
    state = job.read_state()
    assert state["status"] == "succeeded", state.get("error")
    assert state["resolved_hyperparameters"]["beta"] == 0.2
    assert state["trained_tokens"] > 0
    points = [p for p in metric_points(job) if p["train_loss"] is not None]
    assert [p["step"] for p in points] == [1, 2]
    assert "rewards/accuracies" in points[0]["extra"]
    assert (job.adapter_dir / "adapter_config.json").exists()


def test_new_job_can_start_from_a_previous_adapter(make_job, chat_file):
    first = make_job(chat_file, name="ftjob-first", hyperparameters={"n_epochs": 1, "batch_size": 8})
    assert train.run(first.path) == 0
    second = make_job(
        chat_file,
        name="ftjob-second",
        init_from=str(first.adapter_dir),
        hyperparameters={"n_epochs": 1, "batch_size": 8},
    )
    assert train.run(second.path) == 0
    assert second.read_state()["status"] == "succeeded"


def test_reinforcement_without_a_grader_fails_with_a_clear_message(make_job, chat_file):
    job = make_job(chat_file, method="reinforcement")
    assert train.run(job.path) == 1
    error = job.read_state()["error"]
    assert "needs a grader" in error["message"] and "\n" not in error["message"]
    assert job.events()[-1]["level"] == "error"


def test_bad_training_line_fails_naming_file_line_and_field(make_job, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(chat_rows(1)[0]) + "\n" + json.dumps({"msgs": []}) + "\n")
    job = make_job(bad)
    assert train.run(job.path) == 1
    state = job.read_state()
    assert state["status"] == "failed"
    assert f"{bad}:2" in state["error"]["message"] and "'messages'" in state["error"]["message"]
    assert "Traceback" not in state["error"]["message"]


def test_unknown_base_model_fails_listing_the_available_ones(make_job, chat_file):
    job = make_job(chat_file, base_model="no-such-model")
    assert train.run(job.path) == 1
    assert "available: smollm2-135m-instruct, tiny-llama" in job.read_state()["error"]["message"]


def test_entry_script_without_job_dir_explains_usage():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ftui_local.train"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "--job-dir" in proc.stderr and "Traceback" not in proc.stderr


# ---- data and hyperparameters -----------------------------------------------------------------


def test_weight_zero_turns_are_masked_and_end_of_turn_is_learned_in_collator_output(tmp_path):
    from ftui_local.models import load_tokenizer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    tok = load_tokenizer("tiny-llama")
    rows = [
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "SKIPPED", "weight": 0},
                {"role": "user", "content": "again"},
                {"role": "assistant", "content": "LEARNED"},
            ]
        },
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "ok"}]},
    ]
    examples, dropped = load_sft(write_jsonl(tmp_path / "w.jsonl", rows), tok, 512)
    assert dropped == 0
    batch = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)(
        [{"input_ids": e["input_ids"], "labels": e["labels"]} for e in examples]
    )
    first = batch["labels"][0]
    learned = tok.decode([t for t in first.tolist() if t != IGNORE])
    assert learned == "LEARNED<|im_end|>\n"
    assert "SKIPPED" not in learned
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    ids = batch["input_ids"][0].tolist()
    last_end = max(i for i, t in enumerate(ids) if t == im_end)
    assert first[last_end].item() == im_end  # the end-of-turn token is inside the loss mask
    # Padding never counts.
    second = batch["labels"][1]
    assert (second[len(examples[1]["input_ids"]) :] == IGNORE).all()
    assert tok.decode([t for t in second.tolist() if t != IGNORE]) == "ok<|im_end|>\n"


def test_load_dpo_maps_input_preferred_and_non_preferred(tmp_path):
    rows = load_dpo(write_jsonl(tmp_path / "p.jsonl", dpo_rows(1)))
    assert rows == [
        {
            "prompt": [{"role": "user", "content": "Say hi to Ann"}],
            "chosen": [{"role": "assistant", "content": "Hi Ann!"}],
            "rejected": [{"role": "assistant", "content": "No."}],
        }
    ]


def test_encode_chat_learns_every_weighted_assistant_turn():
    from ftui_local.models import load_tokenizer

    tok = load_tokenizer("tiny-llama")
    enc = encode_chat(
        tok,
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
            {"role": "assistant", "content": "d"},
        ],
    )
    learned = tok.decode([t for t in enc["labels"] if t != IGNORE])
    assert learned == "b<|im_end|>\nd<|im_end|>\n"


def test_auto_hyperparameters_scale_with_dataset_size():
    assert auto_epochs(8) == 12  # small sets see ~100 examples
    assert auto_epochs(1000) == 3
    assert auto_epochs(20_000) == 1
    assert auto_batch_size(8, on_gpu=False) == 4
    assert auto_batch_size(2, on_gpu=False) == 2
    assert auto_batch_size(100_000, on_gpu=False) == 8
    r = resolve(
        {"n_epochs": "auto", "learning_rate_multiplier": 2},
        method="supervised",
        n_examples=50,
        context_length=8192,
        vocab_size=49152,
        on_gpu=False,
    )
    assert (r.n_epochs, r.learning_rate, r.batching, r.max_length) == (3, 4e-4, "padding_free", 2048)
    small_vocab = resolve({}, method="dpo", n_examples=50, context_length=None, vocab_size=259, on_gpu=False)
    assert small_vocab.batching == "group_by_length" and small_vocab.beta == 0.1


def test_bad_hyperparameter_names_the_field():
    from ftui.errors import FtuiError

    with pytest.raises(FtuiError, match="n_epochs"):
        resolve(
            {"n_epochs": 0},
            method="supervised",
            n_examples=5,
            context_length=None,
            vocab_size=300,
            on_gpu=False,
        )
    with pytest.raises(FtuiError, match="beta"):
        resolve({"beta": 5}, method="dpo", n_examples=5, context_length=None, vocab_size=300, on_gpu=False)
