"""`ftui chat` refuses settings the model would choke on in one line, before loading anything."""

from __future__ import annotations

import pytest
from support.run_cli import ftui


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--seed", "1e23"], "--seed"),
        (["--seed", str(10**23)], "--seed"),
        (["--temperature", "nan"], "--temperature"),
        (["--temperature", "inf"], "--temperature"),
        (["--top-p", "0"], "--top-p"),
        (["--max-tokens", "0"], "--max-tokens"),
        (["--stop", "a", "--stop", "b", "--stop", "c", "--stop", "d", "--stop", "e"], "--stop"),
    ],
)
def test_bad_sampling_settings_exit_2_with_one_line(args: list[str], says: str) -> None:
    code, out, err = ftui("chat", "--model", "tiny-llama", *args, "hi")
    assert code == 2 and says in err and "Traceback" not in err, (out, err)
