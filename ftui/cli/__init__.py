"""Headless commands. Every operation the TUI does exists here too, with `--json` output.

Importing this package is cheap (click only): each command's module is imported when that command
runs, and the session (config, provider, store) is made when a command first asks for it, so
`ftui data validate FILE` pays for neither plugins nor pydantic models it does not use.
"""

from __future__ import annotations

import sys

import click

from ftui import __version__
from ftui.cli.context import pass_session as pass_session
from ftui.cli.context import run as run
from ftui.cli.context import session_of as session_of
from ftui.errors import FtuiError

# Built-in commands: name -> the module whose `command` it is (or "module:attribute"), imported
# when the command is used.
COMMANDS = {
    "providers": "providers",
    "config": "config",
    "data": "data",
    "files": "files",
    "jobs": "jobs",
    "chat": "chat",
    "eval": "eval",
    "graders": "graders",
    "serve": "serve",
    "web": "web",
    "deploy": "deployments:deploy",
    "deployments": "deployments:deployments",
    "undeploy": "deployments:undeploy",
}

# Commands that work a backend warn first about deployments ftui created that still bill by the hour
# (`deployments` lists them itself; `--help` never gets here).
WARN_RUNNING_DEPLOYMENTS = frozenset({"jobs", "files", "chat", "deploy", "eval"})


class LazyGroup(click.Group):
    """A group whose built-in commands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import importlib

            module_name, _, attribute = COMMANDS[cmd_name].partition(":")
            module = importlib.import_module(f"ftui.cli.{module_name}")
            self.add_command(getattr(module, attribute or "command"), cmd_name)
        return self.commands.get(cmd_name)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
    from ftui.session import Session

    session = Session(config_path, profile, warn=warn)
    ctx.obj = session
    if config_path is not None:
        # A file the user named is read now, so every command reports its errors, not only the
        # ones that happen to need a profile.
        _ = session.profile
    if ctx.invoked_subcommand in WARN_RUNNING_DEPLOYMENTS:
        from ftui.cli.deployments import warn_running

        warn_running(session)
    if ctx.invoked_subcommand is None:
        from ftui.tui.app import run_app

        run_app(session)


def _plugin_commands() -> None:
    # Plugins add commands only when a command is asked for that we do not know: keeps --help fast
    # for the built-ins while still listing plugin commands in `ftui --help`.
    from ftui.plugins import hooks

    for error in hooks().register_commands(cli):
        click.echo(f"warning: {error}", err=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in COMMANDS:
        _plugin_commands()
    run_command(cli, args, "ftui")


def run_command(command: click.Command, args: list[str], prog_name: str) -> None:
    """Run a click command as the `ftui` process: errors as one line and an exit code, no traceback."""
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
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
    except Exception as exc:
        # A full disk, a folder we may not write, a file that vanished, local state that will not
        # open: one line, never a traceback. Anything else is a bug, and keeps its traceback.
        import sqlite3

        if not isinstance(exc, OSError | sqlite3.Error):
            raise
        click.echo(click.style("error: ", fg="red", bold=True) + _os_error(exc), err=True)
        sys.exit(1)


def _os_error(exc: Exception) -> str:
    from ftui import disk
    from ftui.paths import data_dir

    full = disk.describe(exc, data_dir())
    if full:
        return full
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return f"the local state database failed ({exc}); see {data_dir()}"
