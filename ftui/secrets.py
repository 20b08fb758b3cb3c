"""API keys come from the environment or the OS keyring, never from the config file."""

from __future__ import annotations

import os

KEYRING_SERVICE = "ftui"


def get_secret(env_name: str, profile: str | None = None) -> str | None:
    value = os.environ.get(env_name)
    if value:
        return value
    try:
        import keyring  # optional; a headless box often has no backend

        return keyring.get_password(
            KEYRING_SERVICE, f"{profile}:{env_name}" if profile else env_name
        ) or keyring.get_password(KEYRING_SERVICE, env_name)
    except Exception:
        return None


def set_secret(env_name: str, value: str, profile: str | None = None) -> None:
    import keyring

    keyring.set_password(KEYRING_SERVICE, f"{profile}:{env_name}" if profile else env_name, value)


def redact(text: str, *secrets: str | None) -> str:
    """Remove known secret values from text bound for a log, the screen or an error message."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text
