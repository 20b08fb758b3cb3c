from __future__ import annotations

import click


@click.group("web")
def command() -> None:
    """(not built yet)"""
