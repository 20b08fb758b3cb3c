"""TUI test fixtures: a fixed clock and timezone, no cursor blink, canned or real providers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.tui_fakes import NOW, CannedProvider, CannedSession
from textual.widgets import Input

from ftui.tui.app import FtuiApp


@pytest.fixture(autouse=True)
def steady_screen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.delenv("NO_COLOR", raising=False)
    # A blinking cursor makes two screenshots of the same state differ.
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)
    yield
    time.tzset()


@pytest.fixture
def dataset_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def make_app(dataset_dir: Path) -> Callable[..., FtuiApp]:
    def make(
        provider: CannedProvider | None = None, session: CannedSession | None = None, **kwargs: Any
    ) -> FtuiApp:
        if session is None:
            session = CannedSession({"local": provider} if provider else None)
        kwargs.setdefault("clock", lambda: NOW)
        kwargs.setdefault("folder", dataset_dir)
        kwargs.setdefault("poll_interval", 0.1)
        return FtuiApp(session, **kwargs)

    return make
