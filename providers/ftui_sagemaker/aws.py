"""boto3 clients for a profile, and AWS errors as messages a user can act on.

Credentials come from boto3's chain (environment, `aws_profile`, SSO, an instance role); they are
never read, logged or echoed here. AWS error messages carry no secrets, so they are shown as they are,
with a hint for the common ones.
"""

from __future__ import annotations

import threading
from typing import Any

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui_sagemaker.settings import SageMakerSettings
from ftui_sagemaker.status import advice

# The runtime answers within 60 s per the service; a streamed reply may take longer between parts.
RUNTIME_READ_TIMEOUT = 120
_NOT_FOUND_HINTS = ("could not find", "does not exist", "not found", "nosuchkey", "nosuchupload", "404")


class Clients:
    """One boto3 session per provider, one client per service, made on first use (clients are
    thread-safe; sessions are not, hence the lock)."""

    def __init__(self, settings: SageMakerSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def _make(self, service: str) -> Any:
        import boto3
        import botocore.exceptions
        from botocore.config import Config

        s = self.settings
        if self._session is None:
            try:
                self._session = boto3.Session(profile_name=s.aws_profile, region_name=s.region)
            except botocore.exceptions.ProfileNotFound:
                raise FtuiError(
                    f"AWS profile {s.aws_profile!r} (aws_profile in this ftui profile) is not in your AWS "
                    "config; list yours with `aws configure list-profiles`"
                ) from None
        config = Config(
            retries={"max_attempts": s.max_attempts, "mode": "standard"},
            read_timeout=RUNTIME_READ_TIMEOUT if service == "sagemaker-runtime" else 60,
            connect_timeout=10,
            user_agent_extra="ftui",
            # An emulator or a VPC endpoint on a bare host or IP: path-style addressing works everywhere.
            s3={"addressing_style": "path"} if s.endpoint_for("s3") else None,
        )
        return self._session.client(service, endpoint_url=s.endpoint_for(service), config=config)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def is_not_found(exc: BaseException) -> bool:
    code = error_code(exc).lower()
    if code in (
        "resourcenotfound",
        "resourcenotfoundexception",
        "nosuchkey",
        "nosuchupload",
        "404",
        "notfound",
    ):
        return True
    text = str(exc).lower()
    return code == "validationexception" and any(h in text for h in _NOT_FOUND_HINTS)


def map_error(
    exc: BaseException, action: str, settings: SageMakerSettings, what: tuple[str, str] | None = None
) -> FtuiError:
    """An AWS failure as a FtuiError naming what was being done; `what` = (kind, id) for NotFound."""
    import botocore.exceptions as bx

    if isinstance(exc, FtuiError):
        return exc
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        where = (
            f"AWS profile {settings.aws_profile!r}" if settings.aws_profile else "the environment or ~/.aws"
        )
        return FtuiError(
            f"{action}: no AWS credentials found in {where}; run `aws configure` (or `aws sso login`), "
            "or set aws_profile in the ftui profile"
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ReadTimeoutError):
        return ProviderError(f"{action}: cannot reach AWS ({exc})", code="unreachable", retryable=True)
    if isinstance(exc, bx.ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = (exc.response.get("Error") or {}).get("Message") or str(exc)
        if what is not None and is_not_found(exc):
            return NotFound(*what)
        text = f"{action}: {code}: {message}" if code else f"{action}: {message}"
        hint = advice(f"{code} {message}", instance_type=settings.instance_type, bucket=settings.bucket or "")
        if hint:
            text += f"\n{hint}"
        elif code == "NoSuchBucket":
            text += (
                f"\nCreate it (aws s3 mb s3://{settings.bucket} --region {settings.region}) or set bucket in "
                "the profile to one the execution role can use."
            )
        elif code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            text += "\nYour AWS credentials lack this permission; ask for it, or use another aws_profile."
        retryable = code in ("ThrottlingException", "Throttling", "SlowDown", "ServiceUnavailable")
        return ProviderError(text, code=code or "aws_error", status=status, retryable=retryable)
    if isinstance(exc, bx.BotoCoreError):
        return ProviderError(f"{action}: {exc}", code="aws_error")
    return ProviderError(f"{action}: {type(exc).__name__}: {exc}", code="aws_error")
