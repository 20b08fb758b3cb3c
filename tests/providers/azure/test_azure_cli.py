"""`ftui` as a process on an Azure profile: the real CLI, the real SDKs, the loopback Azure server,
and Entra ID through the real azure-identity signing in with an `az` on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.azure_server import AzureServer, entra_profile, fake_az_cli

BASE = "gpt-4.1-mini-2025-04-14"


def ftui(config: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftui", "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def dataset(path: Path) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"Ahoy {i}?"}, {"role": "assistant", "content": "Arr!"}]}
        for i in range(12)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jobs_create_wait_on_an_entra_profile_shows_the_training_type_and_no_token(tmp_path: Path) -> None:
    with AzureServer() as az:
        config = tmp_path / "config.toml"
        config.write_text(entra_profile(az))
        env = {**os.environ, "FTUI_HOME": str(tmp_path / "home"), **fake_az_cli(tmp_path / "bin", az.token)}
        env.pop("AZURE_OPENAI_API_KEY", None)
        data = dataset(tmp_path / "train.jsonl")
        out = ftui(
            config,
            "jobs",
            "create",
            "-m",
            BASE,
            "-t",
            str(data),
            "-o",
            "training_type=developer",
            "--wait",
            "--interval",
            "0.05",
            env=env,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert "training type: Developer" in out.stdout
        assert "succeeded" in out.stdout and f"{BASE}.ft-" in out.stdout
        assert az.requests(r"/fine_tuning/jobs$", "POST")[0].body["trainingType"] == "Developer"
        assert {s.auth for s in az.seen} == {"bearer"} and az.token not in out.stdout + out.stderr
        calls = (tmp_path / "bin" / "az-calls").read_text()
        assert "https://cognitiveservices.azure.com" in calls

        # Defaults are said as such; a bad option is refused before anything is uploaded again.
        out = ftui(config, "jobs", "create", "-m", BASE, "-t", str(data), env=env)
        assert out.returncode == 0 and "training type: Standard (the default" in out.stdout
        posts = len(az.requests(r"/files$", "POST"))
        out = ftui(
            config, "jobs", "create", "-m", BASE, "-t", str(data), "-o", "training_type=cheap", env=env
        )
        assert out.returncode != 0 and "not one of Standard, GlobalStandard, Developer" in out.stderr
        assert "Traceback" not in out.stderr and len(az.requests(r"/files$", "POST")) == posts

        # A fine-tuned model with no deployment: advice, not a stack trace.
        model = next(m for m in az.custom_models)
        out = ftui(config, "chat", "-m", model, "Ahoy?", env=env)
        assert out.returncode != 0 and "only through a deployment" in out.stderr
        assert "Traceback" not in out.stderr


def test_a_key_profile_whose_key_is_missing_says_where_to_put_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[profiles.az]\nprovider = "azure"\nendpoint = "https://r.openai.azure.com/openai/v1/"\n'
    )
    env = {**os.environ, "FTUI_HOME": str(tmp_path / "home")}
    env.pop("AZURE_OPENAI_API_KEY", None)
    out = ftui(config, "jobs", "list", env=env)
    assert out.returncode != 0 and "AZURE_OPENAI_API_KEY" in out.stderr and "entra" in out.stderr
    assert "Traceback" not in out.stderr


def test_azureml_jobs_list_show_and_cancel_as_a_process(tmp_path: Path) -> None:
    from support.azureml_server import AzureMLServer

    with AzureMLServer() as aml:
        aml.jobs["ftui-job1"] = {
            "id": "/subscriptions/sub-1/resourceGroups/rg/providers/"
            "Microsoft.MachineLearningServices/workspaces/ws/jobs/ftui-job1",
            "name": "ftui-job1",
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": {
                "jobType": "FineTuning",
                "status": "Running",
                "properties": {},
                "tags": {"ftui": "1"},
                "fineTuningDetails": {
                    "taskType": "chatCompletion",
                    "modelProvider": "Custom",
                    "model": {
                        "uri": "azureml://registries/azureml/models/Phi-4-mini-instruct/versions/3",
                        "jobInputType": "mlflow_model",
                    },
                    "trainingData": {"uri": "azureml:t:1", "jobInputType": "uri_file"},
                    "validationData": {"uri": "azureml:v:1", "jobInputType": "uri_file"},
                    "hyperParameters": {"num_train_epochs": "1"},
                },
                "outputs": {"registered_model": {"assetName": "phi-ftui", "jobOutputType": "mlflow_model"}},
            },
            "systemData": {"createdAt": "2026-12-01T09:00:00Z"},
        }
        aml.script = ("Running",)  # stays running until cancelled
        config = tmp_path / "config.toml"
        config.write_text(
            '[profiles.ml]\nprovider = "azureml"\nsubscription_id = "sub-1"\n'
            'resource_group = "rg"\nworkspace = "ws"\n'
        )
        env = {
            **os.environ,
            "FTUI_HOME": str(tmp_path / "home"),
            "AZUREML_DEV_URL_MFE": aml.url,
            **fake_az_cli(tmp_path / "bin", aml.token),
        }
        out = ftui(config, "jobs", "list", env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "ftui-job1" in out.stdout and "running" in out.stdout
        out = ftui(config, "jobs", "cancel", "ftui-job1", env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        assert aml.jobs["ftui-job1"]["properties"]["status"] in ("CancelRequested", "Canceled")
        assert "https://management.azure.com" in (tmp_path / "bin" / "az-calls").read_text()
        assert aml.token not in out.stdout + out.stderr
