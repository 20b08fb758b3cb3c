"""Where ftui keeps config, state and caches. `FTUI_HOME` puts all three under one folder (tests do)."""

from __future__ import annotations

import os
from pathlib import Path


def _home() -> Path | None:
    home = os.environ.get("FTUI_HOME")
    return Path(home).expanduser() if home else None


def _platform(kind: str) -> Path:
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("ftui", appauthor=False))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else _platform("config")


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else _platform("data")


def cache_dir() -> Path:
    home = _home()
    return home / "cache" if home else _platform("cache")


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
