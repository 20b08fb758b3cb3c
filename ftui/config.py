"""Profiles from TOML.

Lookup: `--config`, then `FTUI_CONFIG`, then `config.toml` in the user config dir. With no file the
built-in `local` profile is used. `--profile` / `FTUI_PROFILE` pick a profile, else `default_profile`.
Every error names the file, line and key and says what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ftui.errors import ConfigError
from ftui.paths import config_dir
from ftui.provider import ProfileSettings
from ftui.secrets import looks_like_secret, mask_value

# Keys that would hold a secret in clear text. They are never read from the TOML.
SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "secret",
        "token",
        "password",
        "client_secret",
        "aws_secret_access_key",
        "aws_access_key_id",
        "aws_session_token",
        "access_token",
    }
)
TOP_LEVEL_KEYS = frozenset({"default_profile", "profiles"})
BUILTIN_PROFILE = "local"


@dataclass
class Profile:
    name: str
    provider: str
    settings: ProfileSettings


@dataclass
class Config:
    path: Path | None
    default_profile: str
    raw_profiles: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    _lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    @property
    def profile_names(self) -> list[str]:
        return list(self.raw_profiles)

    def line_of(self, *key: str) -> int | None:
        return self._lines.get(tuple(key))

    def error(self, message: str, *key: str) -> ConfigError:
        line = None
        for n in range(len(key), 0, -1):  # the key's own line, else its table's
            line = self.line_of(*key[:n])
            if line:
                break
        return ConfigError(
            message, path=str(self.path) if self.path else None, line=line, key=".".join(key) or None
        )

    def profile(self, name: str | None = None) -> Profile:
        """The validated profile `name` (or the selected default)."""
        from ftui.plugins import registry

        name = name or os.environ.get("FTUI_PROFILE") or self.default_profile
        if name not in self.raw_profiles:
            known = ", ".join(self.raw_profiles) or "none"
            raise self.error(f"no profile named {name!r}; profiles in this file: {known}", "default_profile")
        raw = dict(self.raw_profiles[name])
        for key in list(raw):
            if key.lower() in SECRET_KEYS:
                raw.pop(key)  # warned about at load time; never used
        kind = raw.get("provider")
        if not isinstance(kind, str):
            raise self.error(
                "`provider` is required: one of " + ", ".join(sorted(registry().providers)), "profiles", name
            )
        reg = registry()
        if kind not in reg.providers:
            raise self.error(
                f"provider = {kind!r} is not an installed provider; allowed: "
                + ", ".join(sorted(reg.providers)),
                "profiles",
                name,
                "provider",
            )
        cls = reg.providers[kind]
        try:
            settings = cls.settings_model.model_validate(raw)
        except ValidationError as exc:
            raise self._validation_error(exc, name, cls.settings_model) from None
        return Profile(name=name, provider=kind, settings=settings)

    def _validation_error(
        self, exc: ValidationError, profile: str, model: type[ProfileSettings]
    ) -> ConfigError:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        allowed = ", ".join(model.model_fields)
        if first["type"] == "extra_forbidden":
            message = f"unknown key {key!r} in profile {profile!r}; allowed keys: {allowed}"
        else:
            message = f"{key}: {first['msg']} (got {mask_value(first.get('input'))!r})"
        return self.error(message, "profiles", profile, key)


_TABLE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in text.split("."))


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every table and key path to its 1-based line (tomllib keeps no positions)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for n, line in enumerate(text.splitlines(), start=1):
        if m := _TABLE.match(line):
            table = _split_key(m.group(1))
            lines.setdefault(table, n)
        elif m := _KEY.match(line):
            lines.setdefault(table + _split_key(m.group(1)), n)
    return lines


def _config_file(path: Path, source: str) -> Path:
    if path.is_dir():
        raise ConfigError(
            f"is a folder, not a config file ({source}); remove it or point at a file", path=str(path)
        )
    if not path.is_file():
        raise ConfigError(f"config file not found ({source})", path=str(path))
    return path


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    if explicit:
        return _config_file(Path(explicit).expanduser(), "from --config")
    env = os.environ.get("FTUI_CONFIG")
    if env:
        return _config_file(Path(env).expanduser(), "from FTUI_CONFIG")
    path = config_dir() / "config.toml"
    if path.exists() or path.is_symlink():
        # A folder (or a dangling link) where the file should be is a mistake to report, not a
        # reason to fall back to the built-in profile silently.
        return _config_file(path, "the default location")
    return None


def builtin_config() -> Config:
    return Config(
        path=None, default_profile=BUILTIN_PROFILE, raw_profiles={BUILTIN_PROFILE: {"provider": "local"}}
    )


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    path = find_config_path(explicit)
    if path is None:
        return builtin_config()
    try:
        # utf-8-sig: editors on Windows save a byte-order mark that TOML would call a bad statement.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file: {exc}", path=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's error carries the position only in its text: "... (at line 3, column 14)"
        m = re.search(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$", str(exc))
        msg, line = (f"{m.group(1)} (column {m.group(3)})", int(m.group(2))) if m else (str(exc), None)
        raise ConfigError(f"not valid TOML: {msg}", path=str(path), line=line) from None
    cfg = Config(path=path, default_profile="", raw_profiles={}, _lines=_key_lines(text))

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise cfg.error(f"unknown top-level key {key!r}; allowed: default_profile, [profiles.NAME]", key)
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise cfg.error('profiles must be tables: [profiles.NAME] with provider = "..."', "profiles")
    cfg.raw_profiles = profiles or {BUILTIN_PROFILE: {"provider": "local"}}
    default = data.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise cfg.error("default_profile must be a string naming a [profiles.NAME] table", "default_profile")
    cfg.default_profile = default or next(iter(cfg.raw_profiles))
    if cfg.default_profile not in cfg.raw_profiles:
        raise cfg.error(
            f"default_profile = {cfg.default_profile!r} names no profile; profiles: "
            + ", ".join(cfg.raw_profiles),
            "default_profile",
        )

    for pname, fields in cfg.raw_profiles.items():
        for key, value in fields.items():
            line = cfg.line_of("profiles", pname, key)
            if key.lower() in SECRET_KEYS:
                cfg.warnings.append(
                    f"{path}:{line}: profile {pname!r} holds a secret in `{key}` in clear text; it is "
                    "ignored. Put it in an environment variable (see api_key_env), the keyring "
                    "(`ftui secrets set`), or the provider's own credential chain."
                )
            elif isinstance(value, str):
                warning = _misplaced_secret(pname, key, value)
                if warning:
                    cfg.warnings.append(f"{path}:{line}: {warning}")
    return cfg


def _misplaced_secret(profile: str, key: str, value: str) -> str | None:
    """A warning when a field meant for a name or a URL holds something shaped like a key."""
    from urllib.parse import urlsplit

    if looks_like_secret(value) and "://" not in value:
        if key.endswith("_env"):
            return (
                f"profile {profile!r}: `{key}` holds what looks like a key itself (***), not the name of "
                "an environment variable. Put the key in a variable (e.g. export OPENAI_API_KEY=...) "
                f"and that variable's name in `{key}`, then rotate the key: it is in this file in clear text."
            )
        return (
            f"profile {profile!r}: `{key}` holds something shaped like a credential (***); "
            "keys belong in an environment variable or the keyring, never in the config file."
        )
    if "://" in value:
        try:
            userinfo = urlsplit(value).username is not None
        except ValueError:
            userinfo = False
        if userinfo or looks_like_secret(value):
            return (
                f"profile {profile!r}: `{key}` carries a credential (in its user-info or query); it is "
                "shown nowhere, but keep keys in an environment variable instead."
            )
    return None
