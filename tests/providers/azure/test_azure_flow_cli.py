"""The whole flow on an Azure profile as a user runs it, one process per command: validate the
dataset, upload and train, deploy (asked, then confirmed), chat with the deployment, delete it.
The real CLI and SDKs against the loopback Azure server; Entra ID through an `az` on PATH."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from support.azure_server import AzureServer, entra_profile, fake_az_cli

BASE = "gpt-4.1-mini-2025-04-14"


def test_validate_train_deploy_chat_undeploy_on_an_azure_profile(tmp_path: Path) -> None:
    with AzureServer(lro_polls=1) as az:
        config = tmp_path / "config.toml"
        config.write_text(entra_profile(az))
        env = {**os.environ, "FTUI_HOME": str(tmp_path / "home"), **fake_az_cli(tmp_path / "bin", az.token)}

        def ftui(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
            out = subprocess.run(
                [sys.executable, "-m", "ftui", "--config", str(config), *args],
                env=env,
                input=input,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert "Traceback" not in out.stderr, out.stderr[-3000:]
            assert az.token not in out.stdout + out.stderr
            return out

        data = tmp_path / "train.jsonl"
        data.write_text(
            "".join(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": f"Ahoy {i}?"},
                            {"role": "assistant", "content": "Arr!"},
                        ]
                    }
                )
                + "\n"
                for i in range(12)
            )
        )
        assert ftui("data", "validate", str(data)).returncode == 0

        out = ftui("jobs", "create", "-m", BASE, "-t", str(data), "--wait", "--interval", "0.05")
        assert out.returncode == 0, out.stderr[-2000:]
        model = re.search(rf"({re.escape(BASE)}\.ft-[0-9a-f]+)", out.stdout)[1]

        out = ftui("deploy", model)  # no terminal to ask on: refused, nothing created
        assert out.returncode != 0 and not az.deployments
        out = ftui("deploy", model, "--yes", "--interval", "0.05")
        assert out.returncode == 0, out.stderr[-2000:]
        (name,) = az.deployments
        assert az.deployments[name]["sku"]["name"] == "developertier" and "ready" in out.stdout

        out = ftui("deployments")
        assert out.returncode == 0 and name in out.stdout
        assert "gone in 23 h" in out.stdout  # a Developer deployment is removed after 24 h

        out = ftui("chat", "-m", name, "Ahoy?")
        assert out.returncode == 0 and "Arr, matey!" in out.stdout
        out = ftui("chat", "-m", model, "Ahoy?")  # the model's own name finds its deployment
        assert out.returncode == 0 and "Arr, matey!" in out.stdout

        out = ftui("undeploy", name, "--yes", "--wait", "--interval", "0.05")
        assert out.returncode == 0, out.stderr[-2000:]
        assert not az.deployments
