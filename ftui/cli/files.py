from __future__ import annotations

import click


@click.group("files")
def command() -> None:
    """(not built yet)"""
