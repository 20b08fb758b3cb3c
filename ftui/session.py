"""The active config, profile, provider and store, shared by the CLI and the TUI."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from typing import Any

from ftui.config import Config, Profile, load_config
from ftui.errors import FtuiError
from ftui.provider import Provider
from ftui.store import Store


class Session:
    def __init__(
        self,
        config_path: str | os.PathLike[str] | None = None,
        profile: str | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.config_path = config_path
        self._warn = warn
        self.profile_name = profile
        self._provider: Provider[Any] | None = None

    @cached_property
    def config(self) -> Config:
        config = load_config(self.config_path)
        for warning in config.warnings:
            if self._warn:
                self._warn(warning)
        return config

    @cached_property
    def profile(self) -> Profile:
        return self.config.profile(self.profile_name)

    @cached_property
    def store(self) -> Store:
        return Store()

    def provider(self) -> Provider[Any]:
        if self._provider is None:
            self._provider = open_provider(self.profile, self.store)
        return self._provider

    def switch(self, profile: str) -> Profile:
        """Point the session at another profile (validated first; the old one stays on error)."""
        new = self.config.profile(profile)
        self.profile_name = profile
        self.__dict__["profile"] = new
        self._provider = None
        return new


def open_provider(profile: Profile, store: Store | None = None) -> Provider[Any]:
    from ftui.plugins import registry

    cls = registry().provider_class(profile.provider)
    missing = cls.missing()
    if missing:
        hint = cls.install_hint()
        raise FtuiError(
            f"provider {cls.name!r} (profile {profile.name!r}) needs {', '.join(missing)}, which is not "
            f"installed" + (f"; install it with: {hint}" if hint else "")
        )
    if not cls.built:
        raise FtuiError(
            f"provider {cls.name!r} (profile {profile.name!r}) is not built yet in this version of ftui"
        )
    return cls(profile.settings, profile=profile.name, store=store)
