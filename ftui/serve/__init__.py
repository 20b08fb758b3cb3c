"""`ftui serve`: OpenAI's fine-tuning API over any ftui provider (see `ftui.serve.app`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ftui.serve.app import create_app


def __getattr__(name: str) -> object:
    # Lazy, so importing ftui.serve for a helper does not pull in FastAPI.
    if name == "create_app":
        from ftui.serve.app import create_app

        return create_app
    raise AttributeError(name)


__all__ = ["create_app"]
