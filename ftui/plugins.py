"""Plugin host: loads every `ftui` entry point, keeps a broken one from breaking the rest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any

import pluggy

from ftui import hookspecs
from ftui.errors import ConfigError
from ftui.provider import Provider

GROUP = "ftui"


@dataclass
class PluginInfo:
    name: str
    distribution: str | None
    error: str | None = None


@dataclass
class Registry:
    pm: pluggy.PluginManager
    plugins: list[PluginInfo] = field(default_factory=list)
    providers: dict[str, type[Provider]] = field(default_factory=dict)
    provider_plugin: dict[str, str] = field(default_factory=dict)

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    def provider_class(self, name: str) -> type[Provider]:
        try:
            return self.providers[name]
        except KeyError:
            raise ConfigError(
                f"unknown provider {name!r}; installed providers: {', '.join(sorted(self.providers))}"
            ) from None


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _wanted(name: str) -> bool:
    # FTUI_LOAD_PLUGINS="local,openai" loads only those (as LLM_LOAD_PLUGINS does); empty loads none.
    only = os.environ.get("FTUI_LOAD_PLUGINS")
    return only is None or name in {s.strip() for s in only.split(",") if s.strip()}


def build_registry() -> Registry:
    pm = pluggy.PluginManager("ftui")
    pm.add_hookspecs(hookspecs)
    reg = Registry(pm=pm)
    # Built-in hook implementations that are part of ftui itself (as pytest registers its own).
    from ftui.graders import builtin as builtin_graders

    pm.register(builtin_graders, name="ftui.graders")
    for ep in entry_points(group=GROUP):
        if not _wanted(ep.name) or pm.has_plugin(ep.name):
            continue
        dist = ep.dist.name if ep.dist else None
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a plugin must never take ftui down with it
            reg.plugins.append(PluginInfo(ep.name, dist, _error_text(exc)))
            continue
        reg.plugins.append(PluginInfo(ep.name, dist))

    for impl in pm.hook.ftui_register_providers.get_hookimpls():
        found: list[type[Provider]] = []
        try:
            impl.function(register=found.append)
        except Exception as exc:
            _mark_broken(reg, impl.plugin_name, exc)
            continue
        for cls in found:
            reg.providers[cls.name] = cls
            reg.provider_plugin[cls.name] = impl.plugin_name
    return reg


def _mark_broken(reg: Registry, plugin_name: str, exc: BaseException) -> None:
    for info in reg.plugins:
        if info.name == plugin_name:
            info.error = _error_text(exc)
            return
    reg.plugins.append(PluginInfo(plugin_name, None, _error_text(exc)))


@cache
def registry() -> Registry:
    return build_registry()


def call_safely(hook_name: str, **kwargs: Any) -> list[str]:
    """Call every implementation of a hook; return the errors instead of raising them."""
    errors = []
    for impl in getattr(registry().pm.hook, hook_name).get_hookimpls():
        try:
            impl.function(**kwargs)
        except Exception as exc:
            errors.append(f"plugin {impl.plugin_name}: {_error_text(exc)}")
    return errors
