"""The entry script for real, as SageMaker's toolkit runs it, in a temporary /opt/ml (tiny-llama, CPU).

The code comes from the very sourcedir.tar.gz ftui uploads; the hyperparameters from the very
CreateTrainingJob request ftui builds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
from ftui_sagemaker import metrics
from support.eventually import eventually_sync
from support.sagemaker_container import Host, chat_rows, free_port, lines_with, tiny_request

pytestmark = pytest.mark.slow


def test_entry_trains_writes_the_merged_model_and_prints_lines_the_metric_definitions_read(entry_run):
    host, proc = entry_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # Every FTUI_METRICS line, read with the regexes sent as MetricDefinitions, gives its JSON values.
    lines = lines_with(proc.stdout, "FTUI_METRICS ")
    assert lines
    definitions = tiny_request()["AlgorithmSpecification"]["MetricDefinitions"]
    seen_names = set()
    for line in lines:
        values = json.loads(line.split("FTUI_METRICS ", 1)[1])
        for d in definitions:
            field = metrics.FIELD_OF[d["Name"]]
            m = re.search(d["Regex"], line)
            if values.get(field) is None:
                assert m is None, (d["Name"], line)
            else:
                assert m is not None and float(m.group(1)) == pytest.approx(values[field]), (d["Name"], line)
                seen_names.add(d["Name"])
    assert {"train:loss", "validation:loss", "step", "epoch", "learning_rate"} <= seen_names
    steps = [json.loads(line.split(" ", 1)[1])["step"] for line in lines if '"train_loss": null' not in line]
    assert steps == [1, 2, 3, 4]  # 8 examples, batch 2, one epoch

    events = [
        json.loads(line.split("FTUI_EVENT ", 1)[1])["message"]
        for line in lines_with(proc.stdout, "FTUI_EVENT ")
    ]
    assert "Fine-tuning job started" in events and "The job has successfully completed" in events
    assert events[-1].startswith("Merged model written to")

    # The artefact TGI loads from /opt/ml/model: a merged model with its tokenizer, not an adapter.
    names = sorted(p.name for p in host.model_dir.iterdir())
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(names)
    assert "adapter_config.json" not in names
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(host.model_dir)
    assert sum(p.numel() for p in model.parameters()) > 0
    # The job folder (events, result.csv, the adapter too) lands in output/data -> output.tar.gz.
    job = host.output_data / "ftui-job"
    assert (job / "result.csv").read_text().startswith("step,train_loss")
    assert (job / "adapter" / "adapter_config.json").exists()
    assert any(host.checkpoint_dir.glob("checkpoint-*/trainer_state.json"))


def test_entry_runs_the_bundled_code_not_the_installed_one(entry_run):
    host, _ = entry_run
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ftui_sagemaker.entry as e, ftui_local.train as t; print(e.__file__, t.__file__)",
        ],
        cwd=host.root / "code",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert all(path.startswith(str(host.root / "code")) for path in probe.stdout.split())


def test_bad_training_data_fails_with_the_reason_in_opt_ml_output_failure(tmp_path, sourcedir):
    host = Host(tmp_path / "ml", tiny_request()["HyperParameters"], sourcedir)
    host.channel("train", [{"messages": "not a list"}])
    proc = host.run()
    assert proc.returncode == 1
    failure = (host.root / "output" / "failure").read_text()
    assert "data.jsonl:1" in failure and "messages" in failure and "Traceback" not in failure
    assert lines_with(proc.stderr, "FTUI_ERROR ")[-1].endswith(failure.splitlines()[0][-40:])
    assert not any(host.model_dir.iterdir())


def test_a_run_killed_midway_resumes_from_opt_ml_checkpoints(tmp_path, sourcedir):
    """A spot interruption: the instance dies (SIGKILL, no time to save), SageMaker starts a new one
    and puts the synced /opt/ml/checkpoints back; the run continues from there, not from step 0."""
    request = tiny_request(n_epochs=1, batch_size=1, merge=False, extra={"save_steps": 2})
    checkpoints = tmp_path / "checkpoints"  # what S3 holds between the two instances
    rows = chat_rows(12)

    first = Host(tmp_path / "first", request["HyperParameters"], sourcedir, checkpoints=checkpoints)
    first.channel("train", rows)
    proc = first.start()
    try:
        eventually_sync(
            lambda: proc.poll() is not None or any(checkpoints.glob("checkpoint-*/trainer_state.json")),
            interval=0.05,
            what="a first checkpoint",
        )
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    saved = sorted(
        int(p.parent.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*/trainer_state.json")
    )
    assert saved and saved[-1] < 12

    second = Host(tmp_path / "second", request["HyperParameters"], sourcedir, checkpoints=checkpoints)
    second.channel("train", rows)
    again = second.run()
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    events = [
        json.loads(line.split("FTUI_EVENT ", 1)[1])["message"]
        for line in lines_with(again.stdout, "FTUI_EVENT ")
    ]
    resumed = [e for e in events if e.startswith("Fine-tuning job resumed from the checkpoint at step")]
    assert resumed, events
    step = int(resumed[0].rsplit(" ", 1)[1])
    assert step >= saved[-1] - 2  # the newest complete one (a kill mid-save leaves the one before)
    steps = [json.loads(line.split(" ", 1)[1])["step"] for line in lines_with(again.stdout, "FTUI_METRICS ")]
    assert steps[0] == step + 1 and steps[-1] == 12
    assert (second.model_dir / "adapter_config.json").exists()  # merge = false: the adapter is the artefact


def test_two_hosts_train_one_model_through_torchrun_with_sagemakers_environment(tmp_path, sourcedir):
    """instance_count = 2: the DLC's torch_distributed launch (torchrun --nnodes 2 --node_rank R) on
    two stand-in hosts with their own /opt/ml, talking gloo over 127.0.0.1."""
    request = tiny_request(n_epochs=1, batch_size=2, instance_count=2, instance_type="ml.m5.xlarge")
    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    hosts = ("algo-1", "algo-2")
    port = free_port()
    nodes = []
    for name in hosts:
        node = Host(tmp_path / name, request["HyperParameters"], sourcedir, name=name, hosts=hosts)
        node.channel("train", chat_rows(16))
        nodes.append(node)
    assert nodes[1].command(master_port=port)[3:11] == [
        "--nnodes", "2", "--nproc_per_node", "1", "--master_addr", "127.0.0.1", "--master_port", str(port)
    ]  # fmt: skip
    procs = [node.start(master_port=port) for node in nodes]
    try:
        outputs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-2000:] + err[-3000:]

    leader, follower = outputs[0][0], outputs[1][0]
    # 16 examples, 2 per process per step, 2 processes: 4 steps, counted and logged by rank 0 only.
    steps = [json.loads(line.split(" ", 1)[1]) for line in lines_with(leader, "FTUI_METRICS ")]
    assert [s["step"] for s in steps] == [1, 2, 3, 4] and steps[-1]["total_steps"] == 4
    assert not lines_with(follower, "FTUI_METRICS ") and not lines_with(follower, "FTUI_EVENT ")
    assert (nodes[0].model_dir / "model.safetensors").exists()
    assert not any(nodes[1].model_dir.iterdir())  # one artefact, from the leader
    state = json.loads((nodes[0].output_data / "ftui-job" / "state.json").read_text())
    assert state["status"] == "succeeded"
    assert not (nodes[1].output_data / "ftui-job" / "state.json").exists()
