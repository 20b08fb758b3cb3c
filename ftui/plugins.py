"""Plugin host: loads every `ftui` entry point, keeps a broken one from breaking the rest.

Core code calls hooks through the typed facade (`hooks().job_finished(job)`), never by a hook's
name as a string, so a renamed or re-typed hook fails the type checker, not a user. A plugin that
implements a hook ftui does not have (a misspelling) is reported as broken and left out, as tox
does, rather than silently ignored.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from ftui import hookspecs
from ftui.errors import ConfigError
from ftui.provider import Provider

if TYPE_CHECKING:
    import click

    from ftui.model import Job

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
    providers: dict[str, type[Provider[Any]]] = field(default_factory=dict)
    provider_plugin: dict[str, str] = field(default_factory=dict)

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    @property
    def hooks(self) -> Hooks:
        return Hooks(self.pm)

    def provider_class(self, name: str) -> type[Provider[Any]]:
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
    _refuse_unknown_hooks(reg)

    for impl in pm.hook.ftui_register_providers.get_hookimpls():
        found: list[type[Provider[Any]]] = []
        try:
            impl.function(register=found.append)
        except Exception as exc:
            _mark_broken(reg, impl.plugin_name, exc)
            continue
        for cls in found:
            reg.providers[cls.name] = cls
            reg.provider_plugin[cls.name] = impl.plugin_name
    return reg


def _refuse_unknown_hooks(reg: Registry) -> None:
    """A plugin whose hookimpl names no ftui hook (`ftui_register_provider`, say) is broken: it is
    unregistered and listed with a did-you-mean, instead of never being called."""
    known = sorted(name for name in vars(hookspecs) if name.startswith("ftui_"))
    for name, caller in list(vars(reg.pm.hook).items()):
        if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; ftui's hooks: {', '.join(known)}"
            _mark_broken(reg, impl.plugin_name, f"{name!r} is not an ftui hook{hint}")
            reg.pm.set_blocked(impl.plugin_name)  # unregisters it: none of its hooks run
    reg.pm.check_pending()  # nothing unknown is left: this raises only if the loop above is wrong


def _mark_broken(reg: Registry, plugin_name: str, problem: BaseException | str) -> None:
    text = problem if isinstance(problem, str) else _error_text(problem)
    for info in reg.plugins:
        if info.name == plugin_name:
            info.error = text
            return
    reg.plugins.append(PluginInfo(plugin_name, None, text))


@cache
def registry() -> Registry:
    return build_registry()


def hooks() -> Hooks:
    return registry().hooks


class Hooks:
    """The hooks ftui calls, one typed method each. Every implementation is called; one that
    raises is reported in the returned list (as "plugin NAME: error") and the others still run."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

    def register_commands(self, cli: click.Group) -> list[str]:
        return _call_each(self._pm.hook.ftui_register_commands, cli=cli)

    def job_finished(self, job: Job) -> list[str]:
        return _call_each(self._pm.hook.ftui_job_finished, job=job)

    def register_evaluators(self, register: Callable[[str, Any], None]) -> list[str]:
        return _call_each(self._pm.hook.ftui_register_evaluators, register=register)


def _call_each(hook: pluggy.HookCaller, **kwargs: Any) -> list[str]:
    errors = []
    for impl in hook.get_hookimpls():
        try:
            impl.function(**kwargs)
        except Exception as exc:
            errors.append(f"plugin {impl.plugin_name}: {_error_text(exc)}")
    return errors
