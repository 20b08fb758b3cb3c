"""`ftui web`: the same TUI in a browser, served by textual-serve.

Each browser tab gets its own `ftui` process. textual-serve has no authentication, so the default
binds to 127.0.0.1; reach it from elsewhere through an SSH tunnel or an authenticating proxy.
"""

from __future__ import annotations

import shlex
import sys

import click

from ftui.cli.context import pass_session
from ftui.errors import FtuiError
from ftui.session import Session

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def app_command(session: Session) -> str:
    """The shell command each browser session runs: this interpreter, same config and profile."""
    argv = [sys.executable, "-m", "ftui"]
    if session.config_path:
        argv += ["--config", str(session.config_path)]
    if session.profile_name:
        argv += ["--profile", session.profile_name]
    return shlex.join(argv)


@click.command("web")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. There is no authentication: keep it on localhost.",
)
@click.option("--port", default=8566, show_default=True, type=click.IntRange(1, 65535), help="Port to bind.")
@pass_session
def command(session: Session, host: str, port: int) -> None:
    """Serve the terminal UI in a web browser (textual-serve)."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise FtuiError("`ftui web` needs textual-serve; install it with: pip install 'ftui[web]'") from None
    _ = session.profile  # a broken config or unknown profile fails here, not in every browser tab
    if host not in LOCAL_HOSTS:
        click.echo(
            f"warning: serving on {host} with no authentication; anyone who can reach "
            f"port {port} gets this ftui session",
            err=True,
        )
    click.echo(
        f"ftui web: open http://{'localhost' if host in LOCAL_HOSTS else host}:{port} (ctrl+c stops)",
        err=True,
    )
    Server(app_command(session), host=host, port=port, title="ftui").serve()
