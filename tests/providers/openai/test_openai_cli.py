"""The headless CLI driving the OpenAI provider against `ftui serve`, in a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.openai_provider import KEY, KEY_ENV
from support.serve_harness import Served, write_chat_examples

pytestmark = pytest.mark.slow


def test_jobs_create_wait_trains_through_the_openai_provider_without_showing_the_key(
    server: Served, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.srv]\nprovider = "openai"\nbase_url = "{server.url}"\napi_key_env = "{KEY_ENV}"\n'
    )
    data = write_chat_examples(tmp_path / "train.jsonl", n=10)
    env = {**os.environ, KEY_ENV: KEY, "FTUI_HOME": str(tmp_path / "client")}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftui",
            "--config",
            str(config),
            "jobs",
            "create",
            "--model",
            "tiny-llama",
            "--training-file",
            str(data),
            "--epochs",
            "1",
            "--wait",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "succeeded" in out.stdout and "ft:tiny-llama:local:" in out.stdout
    assert KEY not in out.stdout + out.stderr
