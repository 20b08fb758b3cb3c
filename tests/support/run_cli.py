"""Run the real `ftui` entry point in-process, as a user's shell would."""

from __future__ import annotations

from click.testing import CliRunner

from ftui.cli import main


def ftui(*args: str, input: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `ftui ARGS...`."""
    with CliRunner().isolation(input=input) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue().decode(), err.getvalue().decode()
