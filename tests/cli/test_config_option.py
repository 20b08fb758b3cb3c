"""`--config FILE` (or FTUI_CONFIG) on any command: that file's errors are reported, not ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.run_cli import ftui


@pytest.mark.parametrize("command", [("providers", "list"), ("data", "sample")])
def test_a_broken_config_file_fails_every_command_that_names_it(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[profiles.a]\nprovider = "local"\nbase_model = \n', encoding="utf-8")
    code, _out, err = ftui("--config", str(broken), *command)
    assert code != 0
    assert f"{broken}:3" in err and "Traceback" not in err


def test_a_config_file_from_the_environment_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('default_profile = "nope"\n[profiles.a]\nprovider = "local"\n', encoding="utf-8")
    monkeypatch.setenv("FTUI_CONFIG", str(broken))
    code, _out, err = ftui("providers", "list")
    assert code != 0 and "nope" in err


def test_a_good_config_file_changes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[profiles.a]\nprovider = "local"\n', encoding="utf-8")
    code, out, _err = ftui("--config", str(good), "providers", "list")
    assert code == 0 and "local" in out
