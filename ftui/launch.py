"""The `ftui` console script: with no arguments, straight to the TUI; otherwise the click CLI.

Kept apart from `ftui.cli` so that plain `ftui` paints its first frame without importing click,
pydantic or the plugin registry; the TUI opens the session in a worker right after that frame.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:]:
        from ftui.cli import main as cli_main

        cli_main()
        return
    from ftui.tui.app import run_app

    run_app()


if __name__ == "__main__":
    main()
