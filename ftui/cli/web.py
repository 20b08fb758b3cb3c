"""`ftui web`: the same TUI in a browser, served by textual-serve (see `ftui.tui.web`).

Each browser tab gets its own `ftui` process, which ends with the tab and with the server. On
loopback no key is needed; any other address needs one (`--key` or FTUI_WEB_KEY, at least
MIN_KEY_LENGTH characters), as `ftui serve` needs its API key off loopback.
"""

from __future__ import annotations

import os
import sys

import click

from ftui.cli.context import pass_session
from ftui.errors import FtuiError, UsageError
from ftui.session import Session

MIN_KEY_LENGTH = 16
KEY_ENV = "FTUI_WEB_KEY"


def app_command(session: Session) -> list[str]:
    """What each browser session runs: this interpreter, same config and profile."""
    argv = [sys.executable, "-m", "ftui"]
    if session.config_path:
        argv += ["--config", str(session.config_path)]
    if session.profile_name:
        argv += ["--profile", session.profile_name]
    return argv


def check_key(host: str, key: str | None) -> None:
    """Off loopback, refuse to serve the whole TUI (jobs, files, models) without a real key."""
    from ftui.serve.server import is_loopback

    if is_loopback(host):
        return
    if not key:
        raise UsageError(
            f"refusing to serve the TUI on {host} without a key: anyone who can reach it could train, "
            f"read files and delete models. Set {KEY_ENV} (or pass --key) to a random key of "
            f"{MIN_KEY_LENGTH}+ characters, e.g. export {KEY_ENV}=$(python3 -c "
            "'import secrets; print(secrets.token_urlsafe(24))'), or bind to 127.0.0.1."
        )
    if len(key) < MIN_KEY_LENGTH:
        raise UsageError(
            f"the key for serving on {host} is {len(key)} characters; use at least {MIN_KEY_LENGTH} "
            "(a random one: python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )


@click.command("web")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Any address but loopback needs a key.",
)
@click.option("--port", default=8566, show_default=True, type=click.IntRange(1, 65535), help="Port to bind.")
@click.option(
    "--key",
    default=None,
    metavar="KEY",
    help=f"Require this key (a browser opens /?key=KEY once; default: {KEY_ENV}).",
)
@pass_session
def command(session: Session, host: str, port: int, key: str | None) -> None:
    """Serve the terminal UI in a web browser (textual-serve)."""
    # Read from the environment here, not through click's envvar: click would show it in --help.
    key = key or os.environ.get(KEY_ENV) or None
    check_key(host, key)
    try:
        from ftui.tui.web import WebServer
    except ImportError:
        raise FtuiError("`ftui web` needs textual-serve; install it with: pip install 'ftui[web]'") from None
    _ = session.profile  # a broken config or unknown profile fails here, not in every browser tab
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + ("?key=<the key>" if key else "")
    click.echo(f"ftui web: open {address} (ctrl+c stops; each tab is its own ftui session)", err=True)
    WebServer(app_command(session), key=key, host=host, port=port, title="ftui").serve()
