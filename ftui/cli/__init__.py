"""Headless commands. Every operation the TUI does exists here too, with `--json` output."""

from __future__ import annotations

import asyncio
import atexit
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from ftui import __version__
from ftui.errors import FtuiError
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


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftui")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="FTUI_CONFIG",
    help="Config file (default: FTUI_CONFIG, then config.toml in the user config dir).",
)
@click.option("--profile", "-p", envvar="FTUI_PROFILE", help="Profile to use (default: default_profile).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, profile: str | None) -> None:
    """Fine-tune LLMs on any backend: datasets, jobs, live metrics, playground.

    Run with no command to open the terminal UI.
    """
    from ftui.cli.output import warn

    session = Session(config_path, profile, warn=warn)
    ctx.obj = session
    if config_path is not None:
        # A file the user named is read now, so every command reports its errors, not only the
        # ones that happen to need a profile.
        _ = session.profile
    if ctx.invoked_subcommand is None:
        from ftui.tui.app import run_app

        run_app(session)


def _add_commands() -> None:
    from ftui.cli import chat, config, data, eval, files, jobs, providers, serve, web

    for module in (providers, config, data, files, jobs, chat, eval, serve, web):
        cli.add_command(module.command)


_add_commands()


def _plugin_commands() -> None:
    # Plugins add commands only when a command is asked for that we do not know: keeps --help fast
    # for the built-ins while still listing plugin commands in `ftui --help`.
    from ftui.plugins import call_safely

    for error in call_safely("ftui_register_commands", cli=cli):
        click.echo(f"warning: {error}", err=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    builtin = set(cli.commands)
    if not args or args[0] not in builtin:
        _plugin_commands()
    try:
        cli.main(args=args, prog_name="ftui", standalone_mode=False)
    except FtuiError as exc:
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
