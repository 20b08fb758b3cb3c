"""`ftui deploy`, `ftui deployments`, `ftui undeploy` end to end against the example plugin's fake
backend, each command a separate `ftui` process (the backend lives under FTUI_HOME)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.pty_run import run_in_pty
from support.run_cli import ftui as ftui_in_process


def ftui(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftui", *args], capture_output=True, text=True, input=input, timeout=120
    )


def test_deploy_waits_until_ready_and_the_deployment_is_listed_chatted_with_and_deleted(echo: Path) -> None:
    done = ftui("deploy", "echo-1", "--instance-type", "echo.large", "--yes", "--interval", "0.1", "--json")
    assert done.returncode == 0, done.stderr
    deployment = json.loads(done.stdout)
    assert deployment["status"] == "ready" and deployment["hourly_cost"] == 1.0
    assert "creating" in done.stderr  # progress, one line per change when not on a terminal

    listed = ftui("deployments", "--json")
    [row] = json.loads(listed.stdout)
    assert row["id"] == deployment["id"] and row["status"] == "ready" and row["cost_so_far"] >= 0

    table = ftui("deployments")
    assert table.returncode == 0
    assert deployment["id"] in table.stdout and "$1.00" in table.stdout and "ready" in table.stdout

    chat = ftui("chat", "--model", deployment["id"], "hello there")
    assert chat.returncode == 0, chat.stderr
    assert f"[{deployment['id']}: echo-1]" in chat.stdout and "hello there" in chat.stdout
    # chat works a backend: it warns first about what still bills
    assert f"deployment {deployment['id']}" in chat.stderr and "$1.00/hour" in chat.stderr

    gone = ftui("undeploy", deployment["id"], "--yes", "--wait", "--interval", "0.1", "--json")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["status"] == "deleted"
    assert json.loads(ftui("deployments", "--json").stdout) == []
    assert "deployment" not in ftui("chat", "--model", "echo-1", "hi").stderr  # nothing left to warn of


def test_without_a_terminal_and_without_yes_nothing_is_deployed(echo: Path) -> None:
    refused = ftui("deploy", "echo-1")
    assert refused.returncode == 2
    assert "$0.25/hour" in refused.stderr and "--yes" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert json.loads(ftui("deployments", "--json").stdout) == []


def test_on_a_terminal_deploy_shows_the_hourly_cost_and_asks(echo: Path) -> None:
    no = run_in_pty([sys.executable, "-m", "ftui", "deploy", "echo-1"], answers={"Create it?": "n"})
    assert no.code == 1 and "$0.25/hour" in no.output and "nothing was created" in no.output
    assert json.loads(ftui("deployments", "--json").stdout) == []

    yes = run_in_pty(
        [sys.executable, "-m", "ftui", "deploy", "echo-1", "--interval", "0.1"], answers={"Create it?": "y"}
    )
    assert yes.code == 0, yes.output
    assert "is ready" in yes.output
    [row] = json.loads(ftui("deployments", "--json").stdout)
    assert row["status"] == "ready"

    kept = run_in_pty(
        [sys.executable, "-m", "ftui", "undeploy", row["id"]], answers={"cannot be undone": "n"}
    )
    assert kept.code == 1 and "Not deleted" in kept.output
    assert json.loads(ftui("deployments", "--json").stdout)[0]["status"] == "ready"


def test_no_wait_returns_while_creating_and_a_failed_deployment_exits_1(echo: Path) -> None:
    started = ftui("deploy", "echo-1", "--yes", "--no-wait", "--json")
    assert started.returncode == 0 and json.loads(started.stdout)["status"] == "creating"
    failed = ftui("deploy", "echo-1", "--instance-type", "echo.broken", "--yes", "--interval", "0.1")
    assert failed.returncode == 1 and "failed" in failed.stdout and "no capacity" in failed.stdout


def test_bad_input_is_a_clear_error(echo: Path) -> None:
    unknown = ftui("deploy", "no-such-model", "--yes")
    assert unknown.returncode == 1 and "no such model: no-such-model" in unknown.stderr
    bad_type = ftui("deploy", "echo-1", "--instance-type", "ml.p5.48xlarge", "--yes")
    assert bad_type.returncode == 1 and "echo.large" in bad_type.stderr
    missing = ftui("undeploy", "echo-dep-nope", "--yes")
    assert missing.returncode == 1 and "no such deployment: echo-dep-nope" in missing.stderr
    for out in (unknown, bad_type, missing):
        assert "Traceback" not in out.stderr


def test_on_a_provider_that_needs_no_deployment_deploy_says_the_model_is_callable_at_once() -> None:
    code, out, _ = ftui_in_process("deploy", "smollm2-135m-instruct")
    assert code == 0 and "callable at once" in out and "ftui chat --model smollm2-135m-instruct" in out
    code, out, _ = ftui_in_process("deployments", "--json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize(
    "command", [("jobs", "list"), ("files", "list"), ("chat", "--model", "echo-1", "hi")]
)
def test_commands_that_work_a_backend_warn_about_deployments_still_billed(
    echo: Path, command: tuple[str, ...]
) -> None:
    created = json.loads(ftui("deploy", "echo-1", "--yes", "--no-wait", "--json").stdout)
    out = ftui(*command)
    assert f"deployment {created['id']} (echo-1, profile echo) has been creating" in out.stderr
    assert f"ftui -p echo undeploy {created['id']}" in out.stderr


def test_help_and_commands_that_need_no_backend_do_not_warn(echo: Path) -> None:
    ftui("deploy", "echo-1", "--yes", "--no-wait")
    for args in (("--help",), ("providers", "list"), ("data", "sample")):
        assert "deployment" not in ftui(*args).stderr
