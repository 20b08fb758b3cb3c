"""API keys come from the environment or the OS keyring, never from the config file; and anything
that looks like a credential is masked wherever a value is shown (an error message, a config dump,
a URL's user-info, the server's access log), even in a field where no secret belongs.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

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


MASK = "***"
# Credentials by their well-known shapes: OpenAI/Anthropic (sk-), AWS access key ids, GitHub,
# Slack, Hugging Face and Google keys, JWTs, PEM private keys.
_KNOWN = re.compile(
    r"sk-[A-Za-z0-9_\-]{16,}"
    r"|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{30,}"
    r"|\bxox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|\bhf_[A-Za-z0-9]{30,}"
    r"|\bAIza[0-9A-Za-z_\-]{35}"
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
# Azure OpenAI keys (32 hex characters), AWS secret keys (40 of base64), and long random tokens:
# upper and lower case and digits, no separators a name or path would have.
_HEX_KEY = re.compile(r"\b[0-9a-fA-F]{32}\b")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_+=\-])[A-Za-z0-9_+=\-]{24,}(?![A-Za-z0-9_+=\-])")
_URL_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://)([^/@\s]+)@")
# Query-string keys whose values are secrets whatever they look like.
SECRET_PARAMS = frozenset(
    {"key", "api_key", "apikey", "api-key", "token", "access_token", "secret", "password", "sig", "signature"}
)
_ID_PREFIXES = ("file-", "ftjob-", "ftevent-", "ftckpt_", "upload_", "part_", "chatcmpl-", "req_", "ft:")


def _aws_secret(token: str) -> bool:
    return not token.startswith("/") and all(re.search(p, token) for p in ("[a-z]", "[A-Z]", "[0-9/+]"))


def _random_looking(token: str) -> bool:
    if token.startswith(_ID_PREFIXES) or len(token) < 24:
        return False
    kinds = sum(bool(re.search(p, token)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return kinds == 3 and sum(c.isdigit() for c in token) >= 3


def looks_like_secret(value: str) -> bool:
    """True for a value shaped like an API key or token (a whole value, e.g. a config field)."""
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        return bool(_KNOWN.search(value))
    return bool(
        _KNOWN.search(value)
        or _HEX_KEY.fullmatch(value)
        or (_AWS_SECRET.fullmatch(value) and _aws_secret(value))
        or (_TOKEN.fullmatch(value) and _random_looking(value))
    )


def mask_credentials(text: str) -> str:
    """`text` with every credential-shaped part replaced by ***: known key shapes, URL user-info,
    long random tokens. For text bound for the screen, a log or an error message."""
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _KNOWN.sub(MASK, text)
    text = _HEX_KEY.sub(MASK, text)
    text = _AWS_SECRET.sub(lambda m: MASK if _aws_secret(m.group(0)) else m.group(0), text)
    return _TOKEN.sub(lambda m: MASK if _random_looking(m.group(0)) else m.group(0), text)


def mask_value(value: object) -> object:
    """A config value as it may be shown: strings masked, containers walked."""
    if isinstance(value, str):
        if "://" in value:  # a URL stays readable: only its user-info and key-shaped parts go
            return mask_credentials(value)
        return MASK if looks_like_secret(value) else mask_credentials(value)
    if isinstance(value, dict):
        return {k: (MASK if str(k).lower() in SECRET_PARAMS else mask_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def mask_url(url: str) -> str:
    """A URL with its user-info and secret-looking query values masked (for logs and messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_credentials(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(
            f"{quote(k, safe='[]')}="
            + (MASK if k.lower() in SECRET_PARAMS or looks_like_secret(v) else quote(v, safe=":/"))
            for k, v in pairs
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
