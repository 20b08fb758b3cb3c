"""Errors a user sees. The CLI prints their message and exits non-zero, with no traceback."""

from __future__ import annotations


class FtuiError(Exception):
    """A problem the user can fix; `str()` is the whole message."""

    exit_code = 1


class UsageError(FtuiError):
    exit_code = 2


class ConfigError(FtuiError):
    """A bad config file: names the file, line and key, and what is allowed."""

    exit_code = 2

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, key: str | None = None
    ) -> None:
        where = path or "config"
        if line:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.key = path, line, key


class ProviderError(FtuiError):
    """A provider or backend refused or failed a call.

    `code` is a stable machine-readable reason (e.g. `not_found`, `training_not_available`);
    `status` is the HTTP status where the backend speaks HTTP; `retry_after` the seconds a rate
    limit (429 Retry-After) asked the caller to wait, where the backend said.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.status, self.retryable = code, status, retryable
        self.retry_after = retry_after


class NotSupported(ProviderError):
    def __init__(self, provider: str, verb: str) -> None:
        super().__init__(f"provider {provider!r} does not support {verb}", code="not_supported")


class NotFound(ProviderError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"no such {what}: {ident}", code="not_found", status=404)
