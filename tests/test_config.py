from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ftui.config import load_config
from ftui.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_config_file_uses_the_local_profile() -> None:
    cfg = load_config()
    profile = cfg.profile()
    assert (profile.name, profile.provider) == ("local", "local")
    assert profile.settings.base_model == "smollm2-135m-instruct"  # type: ignore[attr-defined]


def test_profile_is_picked_by_argument_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        """
default_profile = "a"
[profiles.a]
provider = "local"
[profiles.b]
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
""",
    )
    cfg = load_config(path)
    assert cfg.profile().name == "a"
    monkeypatch.setenv("FTUI_PROFILE", "b")
    assert cfg.profile().provider == "openai"
    assert cfg.profile("a").name == "a"


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nprovider = "local"\nbase_model = \n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}:3:" in str(err.value)


def test_unknown_key_names_line_key_and_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nprovider = "local"\n\nbase_modle = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path).profile()
    text = str(err.value)
    assert f"{path}:4:" in text and "base_modle" in text and "base_model" in text


def test_bad_value_names_line_and_what_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nprovider = "local"\ndevice = "tpu"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path).profile()
    text = str(err.value)
    assert f"{path}:3:" in text and "device" in text and "'cpu'" in text


def test_unknown_provider_lists_installed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nprovider = "nope"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path).profile()
    assert f"{path}:2:" in str(err.value) and "sagemaker" in str(err.value)


def test_default_profile_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_profile = "x"\n[profiles.a]\nprovider = "local"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}:1:" in str(err.value)


def test_secret_in_toml_is_warned_with_its_line_and_never_used(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.o]\nprovider = "openai"\napi_key = "sk-not-a-real-key-000"\n')
    cfg = load_config(path)
    assert any(f"{path}:3:" in w and "api_key" in w for w in cfg.warnings)
    assert all("sk-not-a-real" not in w for w in cfg.warnings)
    assert "api_key" not in cfg.profile("o").settings.model_dump()


def test_every_profile_in_config_example_validates() -> None:
    example = Path(__file__).parents[1] / "config.example.toml"
    cfg = load_config(example)
    for name in cfg.profile_names:
        assert cfg.profile(name).name == name
    assert not cfg.warnings


def test_cli_prints_config_error_as_one_paragraph_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nprovider = "local"\nmax_concurrent_jobs = "two"\n')
    out = subprocess.run(
        [sys.executable, "-m", "ftui", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"{path}:3:" in out.stderr and "max_concurrent_jobs" in out.stderr


def test_config_check_warns_about_secret_on_stderr_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.o]\nprovider = "openai"\ntoken = "tok-very-secret-1234"\n')
    out = subprocess.run(
        [sys.executable, "-m", "ftui", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0
    assert f"{path}:3:" in out.stderr and "tok-very-secret" not in out.stderr + out.stdout
