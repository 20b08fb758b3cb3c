"""ftui: fine-tune LLMs on any backend from a terminal."""

from ftui.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
