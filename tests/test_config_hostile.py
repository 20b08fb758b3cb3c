"""Config files as people really write them: saved with a BOM, a folder where the file should be, a
profile that does not exist, and keys pasted into fields meant for names or URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.run_cli import ftui

from ftui.config import load_config
from ftui.errors import ConfigError

KEY = "sk-proj-abcdefghijklmnop1234567890"


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[profiles.work]\nprovider = "local"\n', bom=True)
    assert load_config(cfg).profile_names == ["work"]
    code, out, err = ftui("--config", str(cfg), "config", "check")
    assert code == 0 and "work" in out, err


def test_a_folder_named_config_toml_is_an_error_not_skipped(tmp_path: Path, ftui_home: Path) -> None:
    (ftui_home / "config" / "config.toml").mkdir(parents=True)
    with pytest.raises(ConfigError, match="is a folder, not a config file"):
        load_config()
    code, _, err = ftui("config", "check")
    assert code == 2 and "is a folder" in err
    code, _, err = ftui("--config", str(ftui_home / "config" / "config.toml"), "config", "check")
    assert code == 2 and "is a directory" in err  # click's own check of --config says it


def test_config_check_fails_when_the_selected_profile_does_not_exist(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[profiles.work]\nprovider = "local"\n')
    code, _, err = ftui("--config", str(cfg), "--profile", "nope", "config", "check")
    assert code == 2 and "no profile named 'nope'" in err
    code, _, _ = ftui("--config", str(cfg), "--profile", "work", "config", "check")
    assert code == 0


def test_a_key_pasted_into_api_key_env_is_warned_about_and_never_printed(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", f'[profiles.oa]\nprovider = "openai"\napi_key_env = "{KEY}"\n')
    code, out, err = ftui("--config", str(cfg), "config", "check", "--json")
    assert code == 0, err
    assert KEY not in out + err
    assert "api_key_env` holds what looks like a key itself" in err
    assert json.loads(out)["profiles"][0]["settings"]["api_key_env"] == "***"
    code, out, err = ftui("--config", str(cfg), "files", "list")
    assert code != 0 and KEY not in out + err and "not the name of an environment variable" in err


def test_a_key_in_base_url_user_info_is_never_printed(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml", f'[profiles.oa]\nprovider = "openai"\nbase_url = "https://me:{KEY}@h/v1"\n'
    )
    code, out, err = ftui("--config", str(cfg), "config", "check", "--json")
    assert code == 0 and KEY not in out + err
    assert json.loads(out)["profiles"][0]["settings"]["base_url"] == "https://***@h/v1"
    assert "carries a credential" in err


def test_a_wrongly_typed_value_is_not_echoed_when_it_is_key_shaped(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", f'[profiles.oa]\nprovider = "openai"\ntimeout = "{KEY}"\n')
    code, out, err = ftui("--config", str(cfg), "config", "check")
    assert code == 2 and "timeout" in err and KEY not in out + err and "***" in err
    cfg = write(tmp_path / "d.toml", f'default_profile = "{KEY}"\n[profiles.a]\nprovider = "local"\n')
    code, out, err = ftui("--config", str(cfg), "config", "check")
    assert code == 2 and KEY not in out + err
