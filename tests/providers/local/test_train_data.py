"""What `ftui data validate` accepts, the local trainer reads the same way: one reader for both.

Each file below is written byte by byte as exporters and editors produce them. Validation and the
trainer's loaders must agree on every one: the same examples when it is valid, a refusal when not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ftui_local.models import load_tokenizer
from ftui_local.train_data import load_dpo, load_sft

from ftui.data.validate import validate_path
from ftui.errors import FtuiError

from .conftest import chat_rows, dpo_rows


def lines(rows: list[dict]) -> list[bytes]:
    return [json.dumps(r).encode() for r in rows]


def pretty(row: dict, newline: bytes) -> bytes:
    """One example with `newline` between its JSON tokens (still one line: no b"\\n")."""
    return json.dumps(row, indent=1).encode().replace(b"\n", newline)


CHAT = chat_rows(12)
DPO = dpo_rows(4) * 3

VALID_CHAT = {
    "utf8_bom": b"\xef\xbb\xbf" + b"\n".join(lines(CHAT)) + b"\n",
    "crlf_line_ends": b"\r\n".join(lines(CHAT)) + b"\r\n",
    "cr_between_tokens": b"\n".join(pretty(r, b"\r") for r in CHAT) + b"\n",
    "tabs_and_cr_around_lines": b"\n".join(b"\t" + line + b" \r" for line in lines(CHAT)),
    "bom_then_crlf": b"\xef\xbb\xbf" + b"\r\n".join(lines(CHAT)),
    "no_final_newline": b"\n".join(lines(CHAT)),
    "blank_lines": b"\n\n".join(lines(CHAT)) + b"\n\n\n",
}


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer("tiny-llama")


@pytest.mark.parametrize("name", sorted(VALID_CHAT))
def test_a_chat_file_that_validates_trains_with_the_same_examples(name, tmp_path: Path, tok) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(VALID_CHAT[name])
    report = validate_path(path, method="supervised")
    assert report.valid, report.errors
    rows, dropped = load_sft(path, tok, 512)
    assert len(rows) + dropped == report.examples == len(CHAT)


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbf" + b"\n".join(lines(DPO)),
        b"\n".join(pretty(r, b"\r") for r in DPO),
        b"\r\n".join(lines(DPO)) + b"\r\n",
    ],
    ids=["utf8_bom", "cr_between_tokens", "crlf"],
)
def test_a_preference_file_that_validates_trains_too(body: bytes, tmp_path: Path) -> None:
    path = tmp_path / "prefs.jsonl"
    path.write_bytes(body)
    report = validate_path(path, method="dpo")
    assert report.valid, report.errors
    assert len(load_dpo(path)) == report.examples == len(DPO)


INVALID_CHAT = {
    # A form feed is whitespace to Python's bytes.strip, not to JSON: OpenAI would refuse the line.
    "form_feed_before_a_line": b"\n".join(lines(CHAT[:11])) + b"\n\x0c" + lines(CHAT[11:])[0],
    "nan_number": b"\n".join(lines(CHAT[:11]))
    + b'\n{"messages": [{"role": "user", "content": "x"}, '
    + b'{"role": "assistant", "content": "y", "weight": NaN}]}',
    "lone_surrogate": b"\n".join(lines(CHAT[:11]))
    + b'\n{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "y"}]}',
    "a_bom_on_a_later_line": b"\n".join(lines(CHAT[:11])) + b"\n\xef\xbb\xbf" + lines(CHAT[11:])[0],
}


@pytest.mark.parametrize("name", sorted(INVALID_CHAT))
def test_a_line_validation_refuses_the_trainer_refuses_with_its_line(name, tmp_path: Path, tok) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(INVALID_CHAT[name])
    report = validate_path(path, method="supervised")
    assert not report.valid
    assert [e.line for e in report.errors] == [12]
    with pytest.raises(FtuiError, match=r":12: "):
        load_sft(path, tok, 512)
