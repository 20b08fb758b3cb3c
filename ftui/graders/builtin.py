"""ftui's own grader types, registered through the same hook a plugin implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ftui.hookspecs import hookimpl


@hookimpl
def ftui_register_evaluators(register: Callable[[str, Any], None]) -> None:
    from ftui.graders.kinds import BUILTIN

    for name, kind in BUILTIN.items():
        register(name, kind)
