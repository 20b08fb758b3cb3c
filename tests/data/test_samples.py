from __future__ import annotations

import json

import pytest

from ftui.data.samples import sample_path
from ftui.data.validate import validate_path
from ftui.errors import UsageError


def test_chat_sample_is_small_valid_and_in_one_distinct_style() -> None:
    path = sample_path()
    report = validate_path(path)
    assert report.valid and 50 <= report.examples <= 80 and report.tokens.total < 5000
    for line in path.read_text().splitlines():
        reply = json.loads(line)["messages"][-1]
        assert reply["role"] == "assistant" and reply["content"].startswith("Ahoy!")


def test_dpo_sample_prefers_the_pirate_reply() -> None:
    for line in sample_path("dpo").read_text().splitlines():
        row = json.loads(line)
        assert row["preferred_output"][0]["content"].startswith("Ahoy!")
        assert not row["non_preferred_output"][0]["content"].startswith("Ahoy!")


def test_unknown_method_has_no_sample() -> None:
    with pytest.raises(UsageError):
        sample_path("reinforcement")
