"""The plugin contract: a few stable hooks, in the manner of llm and pytest.

A plugin is a module registered under the `ftui` entry-point group that implements any of these
with `@ftui.hookimpl`. Built-in providers register exactly this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from ftui.model import Job
    from ftui.provider import Provider

hookspec = pluggy.HookspecMarker("ftui")
hookimpl = pluggy.HookimplMarker("ftui")


@hookspec
def ftui_register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register provider classes: call `register(ProviderClass)` once per class.

    The class's `name` is what `provider = "..."` in a profile selects. Keep the module light:
    import the backend SDK inside the provider's methods.
    """


@hookspec
def ftui_register_evaluators(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register scoring functions for Evaluate and for reinforcement graders:
    `register(name, fn)` where `fn(output: str, item: dict) -> float` returns a score in 0..1."""


@hookspec
def ftui_register_commands(cli: click.Group) -> None:
    """Add commands to the `ftui` CLI group."""


@hookspec
def ftui_job_finished(job: Job) -> None:
    """Called once when ftui sees a job reach succeeded, failed or cancelled (notifications)."""
