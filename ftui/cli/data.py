from __future__ import annotations

import click


@click.group("data")
def command() -> None:
    """(not built yet)"""
