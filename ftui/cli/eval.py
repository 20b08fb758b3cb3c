from __future__ import annotations

import click


@click.group("eval")
def command() -> None:
    """(not built yet)"""
