"""What every subcommand shares: the session it is handed, and the one event loop it runs on.

Apart from `ftui.cli` (the group, which imports the subcommands) so that no subcommand imports the
package that imports it.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from ftui.session import Session

T = TypeVar("T")

_runner: asyncio.Runner | None = None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the command's one event loop.

    One loop per process, not one per call: provider clients (HTTP connection pools) bind to the
    loop they were made on, and a command may call the provider several times.
    """
    global _runner
    if _runner is None:
        _runner = asyncio.Runner()
        atexit.register(_runner.close)
    return _runner.run(coro)


pass_session = click.make_pass_decorator(Session)
