"""The `ftui` console script: with no arguments, straight to the TUI; otherwise the click CLI.

Kept apart from `ftui.cli` so that plain `ftui` paints its first frame without importing click,
pydantic or the plugin registry; the TUI opens the session in a worker right after that frame.
`ftui data ...` runs its group directly: dataset commands need neither plugins nor the config
unless a model name has to be asked of the provider, and then they open it themselves.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["data"]:
        from ftui.cli import run_command
        from ftui.cli.data import command

        run_command(command, sys.argv[2:], "ftui data")
        return
    if sys.argv[1:]:
        from ftui.cli import main as cli_main

        cli_main()
        return
    from ftui.tui.app import run_app

    run_app()


if __name__ == "__main__":
    main()
