"""`ftui serve`: the active profile's provider as an OpenAI-compatible fine-tuning endpoint."""

from __future__ import annotations

import os

import click

from ftui.cli.context import pass_session
from ftui.session import Session


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--api-key",
    "api_key",
    default=None,
    metavar="KEY",
    help="Require `Authorization: Bearer KEY` on every request (default: FTUI_API_KEY).",
)
@pass_session
def command(session: Session, host: str, port: int, api_key: str | None) -> None:
    """Serve OpenAI's fine-tuning API at http://HOST:PORT/v1 over the active profile.

    Scripts written for OpenAI's fine-tuning API run unchanged against it, apart from base_url.
    Binding to a non-loopback address needs an API key.
    """
    from ftui.serve.server import check_exposure

    # Read the key from the environment ourselves, not through click's envvar: click would show
    # its value in --help and in error messages.
    api_key = api_key or os.environ.get("FTUI_API_KEY") or None
    check_exposure(host, api_key)
    provider = session.provider()

    import uvicorn

    from ftui.serve.app import create_app

    app = create_app(provider, api_key=api_key)
    auth = "a bearer key is required" if api_key else "no API key required (loopback only)"
    click.echo(
        f"ftui serve: profile {session.profile.name!r} ({provider.name}) at "
        f"http://{host}:{port}/v1 — {auth}. Ctrl-C stops the server; running jobs go on.",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
