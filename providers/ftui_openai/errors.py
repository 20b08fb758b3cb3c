"""The SDK's exceptions as plain messages a user can act on. The API key never appears in them."""

from __future__ import annotations

from typing import Any

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.secrets import redact

TRAINING_NOT_AVAILABLE = (
    "{base_url} refused to create the job (403 training_not_available): OpenAI is winding down "
    "self-serve fine-tuning and this organization can no longer create new fine-tuning jobs. "
    "Existing fine-tuned models still answer chat. To keep training with the same workflow, run "
    "`ftui serve` on a machine of yours and point this profile's base_url at it, or switch to another "
    "provider (local, azure, sagemaker) with --profile."
)


class RemoteNotFound(NotFound):
    """A 404 from the API, with the server's own message."""

    def __init__(self, message: str) -> None:
        ProviderError.__init__(self, message, code="not_found", status=404)


def retry_after_seconds(exc: Any) -> float | None:
    """Seconds from a response's `retry-after-ms` or `retry-after` (seconds) header."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if 0 <= seconds < 3600:
            return seconds
    return None


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", "") or exc)


def map_error(exc: Exception, *, base_url: str, key_env: str, secret: str | None, retries: int) -> FtuiError:
    import openai

    def clean(text: str) -> str:
        return redact(text, secret)

    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(
            clean(
                f"{base_url} did not answer in time (after {retries} retries); "
                "try again, or raise `timeout` in the profile"
            ),
            code="timeout",
            retryable=True,
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return ProviderError(
            clean(f"cannot reach {base_url}: {type(cause).__name__}: {cause} (after {retries} retries)"),
            code="connection_error",
            retryable=True,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = getattr(exc, "code", None)
        message = clean(_server_message(exc))
        if status == 401:
            return ProviderError(
                f"{base_url} rejected the API key from ${key_env} (401): {message}",
                code=code or "unauthorized",
                status=401,
            )
        if status == 403 and code == "training_not_available":
            return ProviderError(
                TRAINING_NOT_AVAILABLE.format(base_url=base_url), code="training_not_available", status=403
            )
        if status == 403:
            return ProviderError(
                f"permission denied by {base_url} (403): {message}",
                code=code or "permission_denied",
                status=403,
            )
        if status == 404:
            return RemoteNotFound(message)
        if status == 429:
            return ProviderError(
                f"{base_url} is rate limiting requests (429), still after {retries} retries: {message}",
                code=code or "rate_limited",
                status=429,
                retryable=True,
                retry_after=retry_after_seconds(exc),
            )
        if status >= 500:
            return ProviderError(
                f"{base_url} had a server error ({status}), still after {retries} retries: {message}",
                code=code or "server_error",
                status=status,
                retryable=True,
            )
        return ProviderError(f"{message} ({status}{', ' + code if code else ''})", code=code, status=status)
    return ProviderError(clean(f"{type(exc).__name__}: {exc}"))
