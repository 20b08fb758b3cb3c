"""What every subcommand shares: the session it is handed, and the one event loop it runs on.

Apart from `ftui.cli` (the group, which imports the subcommands) so that no subcommand imports the
package that imports it. Cheap to import (click only): the session (config, provider, store) is
made when a command first asks for it, so `ftui data validate FILE` pays for neither plugins nor
pydantic models it does not use.
"""

from __future__ import annotations

import atexit
import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    import asyncio

    from ftui.session import Session

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_runner: asyncio.Runner | None = None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the command's one event loop.

    One loop per process, not one per call: provider clients (HTTP connection pools) bind to the
    loop they were made on, and a command may call the provider several times.
    """
    global _runner
    if _runner is None:
        import asyncio

        _runner = asyncio.Runner()
        atexit.register(_runner.close)
    return _runner.run(coro)


def session_of(ctx: click.Context) -> Session:
    """The command's session: the one `ftui [--config ...] [--profile ...]` made, else (a command
    run straight from its group, as `ftui data ...` is) one on the default config, made now."""
    from ftui.session import Session

    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        from ftui.cli.output import warn

        root.obj = Session(None, None, warn=warn)
    return root.obj


def pass_session(f: F) -> F:
    """Pass the session as the command's first argument (click's make_pass_decorator, made lazy)."""

    def new_func(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        return ctx.invoke(f, session_of(ctx), *args, **kwargs)

    return cast(
        F, functools.update_wrapper(new_func, f)
    )  # the wrapper takes what `f` takes, less the session
