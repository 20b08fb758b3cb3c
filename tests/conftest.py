"""Every test gets its own FTUI_HOME (config, state, cache), no config file, no network."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # shared test helpers: `from support.factories import ...`

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def ftui_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("ftui_home")
    monkeypatch.setenv("FTUI_HOME", str(home))
    for var in ("FTUI_CONFIG", "FTUI_PROFILE", "FTUI_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    yield home
    jobs = home / "data" / "local" / "jobs"
    if jobs.exists():  # a test that trained must never leave a detached worker running
        from ftui_local.jobs import kill_workers

        kill_workers(jobs)


@pytest.fixture
def local_provider() -> Iterator[Any]:
    """The real local provider (CPU), cancelling whatever it still runs when the test ends."""
    from ftui_local.provider import LocalProvider
    from ftui_local.settings import LocalSettings

    provider = LocalProvider(LocalSettings(device="cpu"), profile="test")
    yield provider
    for job in asyncio.run(provider.jobs(limit=1000)).items:
        if not job.done:
            with contextlib.suppress(Exception):
                asyncio.run(provider.cancel(job.id))


@pytest.fixture(scope="session")
def echo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin, pip-installed once per session into a folder of its own."""
    from support.echo import install_echo

    return install_echo(tmp_path_factory.mktemp("echo_site"))


@pytest.fixture
def echo(echo_site: Path, ftui_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The `echo` profile (example plugin, fake backend under FTUI_HOME) active here and in
    `ftui` child processes; yields the config file."""
    from support.echo import use_echo

    from ftui.plugins import registry

    yield use_echo(echo_site, ftui_home, monkeypatch)
    registry.cache_clear()
