from __future__ import annotations

import click


@click.group("chat")
def command() -> None:
    """(not built yet)"""
