"""The whole SageMaker flow through the `ftui` command, from upload to a chat with the endpoint and its
deletion, each step a separate process, as a user runs it:
a profile pointing at moto (server mode, in this process, so the test can move the job along) and at
the loopback streaming endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from support.eventually import eventually_sync
from support.moto_aws import BUCKET, REGION, ROLE, MotoAWS
from support.sagemaker_container import chat_rows, write_jsonl

pytestmark = pytest.mark.slow


@pytest.fixture
def profile(aws: MotoAWS, runtime_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""default_profile = "aws"

[profiles.aws]
provider = "sagemaker"
region = "{REGION}"
role_arn = "{ROLE}"
bucket = "{BUCKET}"
prefix = "cli"
base_model = "tiny-llama"
instance_type = "ml.g5.12xlarge"
instance_count = 2
endpoint_url = "{aws.url}"
endpoint_urls = {{ sagemaker-runtime = "{runtime_server.url}" }}
max_attempts = 1
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("FTUI_CONFIG", str(config))
    return config


def ftui(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftui", *args], capture_output=True, text=True, timeout=timeout
    )


class Lines:
    """A process's stdout, line by line, read as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self.lines = proc, []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)


def test_create_watch_deploy_chat_and_undeploy_through_the_cli(profile, aws, tmp_path, entry_run):
    host, run = entry_run
    train = write_jsonl(tmp_path / "train.jsonl", chat_rows(12))
    args = ("jobs", "create", "--training-file", str(train), "--suffix", "cli", "--hp", "lora_r=4", "--json")
    sm = aws.client("sagemaker")
    before = len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])
    refused = ftui(*args)  # billed by the instance-hour, and no terminal to ask on
    assert refused.returncode == 2 and "this job is billed (≈ $" in refused.stderr, refused.stderr
    assert "pass --yes" in refused.stderr
    assert len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]) == before
    created = ftui(*args, "--yes")
    assert created.returncode == 0, created.stderr
    job = json.loads(created.stdout)
    assert job["provider"] == "sagemaker" and job["base_model"] == "tiny-llama"
    hps = aws.client("sagemaker").describe_training_job(TrainingJobName=job["id"])["HyperParameters"]
    assert hps["sagemaker_torch_distributed_enabled"] == "true"  # 2 x 4 GPUs: torchrun everywhere

    aws.begin(job["id"])
    watch = subprocess.Popen(
        [sys.executable, "-m", "ftui", "jobs", "watch", job["id"], "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = Lines(watch)
    try:
        eventually_sync(lambda: "Preparing the instances for training" in out.text(), what="the first event")
        aws.set_status(job["id"], "InProgress", "Training", "Training in progress.")
        lines = [line for line in run.stdout.splitlines() if line.strip()]
        aws.put_logs(job["id"], lines)
        eventually_sync(
            lambda: "The job has successfully completed" in out.text(), what="the log's last event"
        )
        assert watch.poll() is None  # SageMaker has not said Completed yet
        prefix = f"cli/output/{job['id']}/output/model/"
        for file in host.model_dir.iterdir():  # what SageMaker uploads from SM_MODEL_DIR
            aws.client("s3").put_object(Bucket=BUCKET, Key=prefix + file.name, Body=file.read_bytes())
        aws.set_status(job["id"], "Completed", "Completed", "Training job completed")
        assert watch.wait(timeout=120) == 0, watch.stderr.read() if watch.stderr else ""
    finally:
        if watch.poll() is None:
            watch.kill()
    text = out.text()
    assert "Training: Training in progress." in text and "step 4/4" in text
    assert f"ft:tiny-llama:{job['id']}" in text.splitlines()[-1]

    listed = json.loads(ftui("files", "list", "--json").stdout)
    assert {f["filename"] for f in listed} == {"train.jsonl", "sourcedir.tar.gz"}

    model = f"ft:tiny-llama:{job['id']}"
    refused = ftui("deploy", model)  # no terminal to ask on, no --yes: nothing is created
    assert refused.returncode == 2 and "$1.51/hour" in refused.stderr and "--yes" in refused.stderr
    assert aws.client("sagemaker").list_endpoints()["Endpoints"] == []
    deployed = ftui("deploy", model, "--yes", "--interval", "0.1", "--json")
    assert deployed.returncode == 0, deployed.stderr
    endpoint = json.loads(deployed.stdout)
    assert endpoint["status"] == "ready" and endpoint["hourly_cost"] == pytest.approx(1.515)
    listed = json.loads(ftui("deployments", "--json").stdout)
    assert [d["id"] for d in listed] == [endpoint["id"]] and listed[0]["model"] == model

    chat = ftui("chat", "--model", endpoint["id"], "hello from the cli")
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip() == "Echo: hello from the cli"
    assert f"deployment {endpoint['id']}" in chat.stderr  # the warning about what still bills
    by_name = ftui("chat", "--model", model, "by its model name")
    assert by_name.stdout.strip() == "Echo: by its model name"

    gone = ftui("undeploy", endpoint["id"], "--yes", "--wait", "--interval", "0.1", "--json")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["status"] == "deleted"
    assert json.loads(ftui("deployments", "--json").stdout) == []
    assert aws.client("sagemaker").list_models()["Models"] == []
    again = ftui("chat", "--model", model, "again")
    assert again.returncode != 0 and "is not deployed" in again.stderr and "Traceback" not in again.stderr
    assert "deployment" not in ftui("jobs", "list").stderr  # nothing left billing to warn about


def test_cli_errors_name_the_profile_field_and_never_show_a_traceback(profile, aws, tmp_path):
    bad = Path(profile).read_text().replace('bucket = "ftui-test-bucket"', 'bucket = "Bad_Bucket"')
    broken = tmp_path / "broken.toml"
    broken.write_text(bad)
    result = subprocess.run(
        [sys.executable, "-m", "ftui", "--config", str(broken), "jobs", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        result.returncode == 2
        and "broken.toml:7: bucket" in result.stderr
        and "Traceback" not in result.stderr
    )
    missing = ftui("jobs", "show", "ftui-no-such-job")
    assert missing.returncode != 0 and "no such job: ftui-no-such-job" in missing.stderr
    assert "Traceback" not in missing.stderr
