from __future__ import annotations

import click


@click.group("serve")
def command() -> None:
    """(not built yet)"""
