"""ftui: fine-tune LLMs on any backend from a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftui.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    # `from ftui import hookimpl` keeps working for plugins, but `import ftui` alone (the TUI's
    # start path) does not pay for pluggy.
    if name == "hookimpl":
        from ftui.hookspecs import hookimpl

        globals()["hookimpl"] = hookimpl
        return hookimpl
    raise AttributeError(f"module 'ftui' has no attribute {name!r}")
