"""Anything shaped like a credential is masked wherever a value is shown, whatever field it is in."""

from __future__ import annotations

import pytest

from ftui.secrets import looks_like_secret, mask_credentials, mask_url, mask_value

KEYS = [
    "sk-proj-abcdefghijklmnop1234567890",
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
    "AKIA" + "IOSFODNN7EXAMPLE",  # AWS's documented example pair, split so no key-shaped literal is committed
    "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "0123456789abcdef0123456789abcdef",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY",
]
NOT_KEYS = [
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "smollm2-135m-instruct",
    "12345678-1234-1234-1234-123456789abc",  # an Azure subscription id: an identifier
    "file-abcdefghijklmnopqrstuvwx",
    "ftjob-AbCdEfGh1234567890XyZw",
    "ft:gpt-4o-mini-2024-07-18:org:pirate:abc12345",
    "https://api.openai.com/v1",
    "my-resource-group",
    "/home/user/projects/data/train.jsonl",
]


@pytest.mark.parametrize("key", KEYS)
def test_credential_shapes_are_recognized_and_masked_in_any_text(key: str) -> None:
    assert looks_like_secret(key)
    masked = mask_credentials(f"api_key_env = {key!r} is not a variable name")
    assert key not in masked and "***" in masked


@pytest.mark.parametrize("value", NOT_KEYS)
def test_names_ids_and_urls_are_left_alone(value: str) -> None:
    assert not looks_like_secret(value)
    assert mask_credentials(value) == value


def test_url_user_info_and_secret_query_values_are_masked() -> None:
    assert mask_credentials("cannot reach https://bob:hunter2@example.com/v1") == (
        "cannot reach https://***@example.com/v1"
    )
    logged = mask_url(
        "/v1/models?api_key=plain-but-named-secret&limit=3&after=file-x&x=sk-abcdefghijklmnop1234"
    )
    assert "plain-but-named-secret" not in logged and "sk-abcdefghijklmnop1234" not in logged
    assert "limit=3" in logged and "after=file-x" in logged


def test_config_values_are_masked_field_by_field() -> None:
    shown = mask_value(
        {"api_key_env": KEYS[0], "base_url": "https://u:p@h/v1", "timeout": 60, "tags": [KEYS[2]]}
    )
    assert shown == {"api_key_env": "***", "base_url": "https://***@h/v1", "timeout": 60, "tags": ["***"]}
