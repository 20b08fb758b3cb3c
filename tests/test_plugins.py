"""Plugin discovery through the real `ftui` entry-point group, in fresh processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.echo import install_echo

ROOT = Path(__file__).parents[1]


def providers_json(extra_path: Path | None = None) -> dict:
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-m", "ftui", "providers", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout)


def test_builtin_providers_register_through_entry_points() -> None:
    data = providers_json()
    rows = {p["name"]: p for p in data["providers"]}
    assert {"local", "openai", "azure", "azureml", "sagemaker"} <= set(rows)
    assert rows["local"]["plugin"] == "local"
    assert "supervised" in rows["local"]["capabilities"]
    assert data["broken_plugins"] == []


def test_example_plugin_once_installed_is_listed(tmp_path: Path) -> None:
    target = install_echo(tmp_path / "site")
    rows = {p["name"]: p for p in providers_json(target)["providers"]}
    assert rows["echo"]["installed"] is True
    assert rows["echo"]["plugin"] == "echo"
    assert "local" in rows  # the built-ins are still there


def _fake_distribution(site: Path, name: str, module_source: str) -> None:
    """An installed distribution, as pip leaves it: a module plus dist-info with entry points."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{name}.py").write_text(module_source)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ftui]\n{name} = {name}\n")


def test_plugin_that_fails_to_import_is_reported_and_the_rest_works(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "ftui_broken", "import module_that_does_not_exist\n")
    data = providers_json(tmp_path)
    assert {p["name"] for p in data["providers"]} >= {"local", "openai"}
    [broken] = data["broken_plugins"]
    assert broken["plugin"] == "ftui_broken"
    assert "ModuleNotFoundError" in broken["error"] and "module_that_does_not_exist" in broken["error"]


def test_plugin_whose_hook_raises_is_reported(tmp_path: Path) -> None:
    _fake_distribution(
        tmp_path,
        "ftui_raises",
        (
            "from ftui import hookimpl\n"
            "@hookimpl\n"
            "def ftui_register_providers(register):\n"
            "    raise RuntimeError('boom')\n"
        ),
    )
    data = providers_json(tmp_path)
    [broken] = data["broken_plugins"]
    assert broken["plugin"] == "ftui_raises" and "boom" in broken["error"]
    assert "local" in {p["name"] for p in data["providers"]}


def test_plugin_with_a_misspelled_hook_is_reported_with_the_hook_it_meant(tmp_path: Path) -> None:
    _fake_distribution(
        tmp_path,
        "ftui_typo",
        (
            "from ftui import hookimpl\n"
            "from ftui.provider import Provider\n"
            "class Typo(Provider):\n"
            "    name = 'typo'\n"
            "@hookimpl\n"
            "def ftui_register_provider(register):\n"  # "provider", not "providers"
            "    register(Typo)\n"
            "@hookimpl\n"
            "def ftui_register_providers(register):\n"
            "    register(Typo)\n"
        ),
    )
    data = providers_json(tmp_path)
    [broken] = data["broken_plugins"]
    assert broken["plugin"] == "ftui_typo"
    assert (
        "'ftui_register_provider' is not an ftui hook; did you mean 'ftui_register_providers'?"
        in (broken["error"])
    )
    names = {p["name"] for p in data["providers"]}
    assert "typo" not in names and "local" in names  # none of a broken plugin's hooks run


def test_hooks_are_called_through_the_typed_facade_and_a_failing_one_is_reported() -> None:
    import pluggy

    from ftui import hookimpl, hookspecs
    from ftui.model import Job
    from ftui.plugins import Hooks

    seen: list[str] = []

    class Good:
        @hookimpl
        def ftui_job_finished(self, job: Job) -> None:
            seen.append(job.id)

    class Bad:
        @hookimpl
        def ftui_job_finished(self, job: Job) -> None:
            raise RuntimeError("webhook down")

    pm = pluggy.PluginManager("ftui")
    pm.add_hookspecs(hookspecs)
    pm.register(Good(), name="good")
    pm.register(Bad(), name="bad")
    job = Job(
        id="ftjob-1", provider="local", status="succeeded", base_model="m", created_at="2026-12-01T00:00:00Z"
    )
    assert Hooks(pm).job_finished(job) == ["plugin bad: RuntimeError: webhook down"]
    assert seen == ["ftjob-1"]


def test_provider_with_missing_sdk_says_which_extra_brings_it(tmp_path: Path) -> None:
    # Shadow boto3 with a path entry that makes find_spec fail is not possible; instead check the
    # hint the registry computes for a provider whose requirement is absent.
    from ftui.provider import Provider

    class Needy(Provider):
        name = "needy"
        requires = ("module_that_does_not_exist_either",)
        extra = "needy"

    assert Needy.missing() == ["module_that_does_not_exist_either"]
    assert Needy.install_hint() == "pip install 'ftui[needy]'"


@pytest.mark.skipif(shutil.which("ftui") is None, reason="console script not installed")
def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['ftui', '--help']\n"
        "try:\n    runpy.run_module('ftui', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'boto3', 'openai', 'textual',"
        " 'azure', 'fastapi') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in out.stdout + "\n", out.stdout
