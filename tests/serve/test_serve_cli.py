"""`ftui serve` on the command line."""

from __future__ import annotations

import contextlib

import pytest

from ftui.cli import main


def test_serve_refuses_a_public_address_without_an_api_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--host", "0.0.0.0", "--port", "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--api-key" in err and "Traceback" not in err


def test_serve_help_names_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with contextlib.suppress(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "--api-key" in out
