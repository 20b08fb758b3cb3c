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
def ftui_register_evaluators(register: Callable[[str, Any], None]) -> None:
    """Register grader types for Evaluate and for reinforcement training: `register(type_name, kind)`.

    `kind` is either a plain function `fn(output: str, item: dict) -> float` (a score, 0..1 by
    convention), used in grader JSON as `{"type": type_name, "name": "..."}` (optionally with an
    `input` template, default `{{sample.output_text}}`); or a `ftui.graders.base.Grader` subclass: a
    pydantic model with `type: Literal[type_name]`, its own fields and `async grade(sample, item, ctx)`.
    ftui's own types (string_check, text_similarity, score_model, label_model, python, multi,
    json_valid, json_schema, regex, length) register this way too, in `ftui.graders.builtin`.
    """


@hookspec
def ftui_register_commands(cli: click.Group) -> None:
    """Add commands to the `ftui` CLI group."""


@hookspec
def ftui_job_finished(job: Job) -> None:
    """Called once when ftui sees a job reach succeeded, failed or cancelled (notifications)."""
