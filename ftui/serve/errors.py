"""OpenAI's error envelope, and how ftui's own errors map onto it.

The SDK retries 408/409/429/5xx on its own, so those statuses appear only where they are meant:
anything else a handler did not foresee is a 500 that says not to retry.
"""

from __future__ import annotations

import re
from typing import Any

from ftui.errors import FtuiError, NotFound, NotSupported, ProviderError

# ftui's error codes that mean "the training data is bad": such a job fails the way OpenAI's does
# (status failed, error.code) instead of the create call being refused.
DATA_ERROR_CODES = frozenset(
    {
        "invalid_training_file",
        "invalid_validation_file",
        "invalid_n_examples",
        "invalid_file_format",
    }
)


class APIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, dict(headers or {})

    @property
    def retryable(self) -> bool:
        return self.status in (429, 503)

    def body(self) -> dict[str, Any]:
        return envelope(self.message, self.type, self.param, self.code)


# An absolute path on this machine: a slash at the start of a word (not inside a URL or a model id,
# and not this API's own /v1/... routes, which error messages name).
_PATH = re.compile(r"(?<![\w:/.~-])/(?!v1/)(?:[^/\s'\"(),;]+/)*[^/\s'\"(),;:]*")


def public(text: str) -> str:
    """`text` with this server's paths cut to their last part: a client learns nothing of the
    server's folders (`/home/u/.local/share/ftui/local/jobs/ftjob-x/worker.log` -> `worker.log`)."""
    return _PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "/", text)


def envelope(
    message: str, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def no_such(kind: str, ident: str, param: str = "id") -> APIError:
    return APIError(404, f"No such {kind} object: {ident}", param=param)


def model_not_found(model: str) -> APIError:
    return APIError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


def from_ftui(exc: FtuiError) -> APIError:
    """An ftui error raised by the provider, as the status and envelope OpenAI would send."""
    message = public(str(exc))
    if isinstance(exc, NotFound):
        return APIError(404, message, param="id", code=None)
    if isinstance(exc, NotSupported):
        return APIError(400, message, code="not_supported")
    if isinstance(exc, ProviderError):
        status = exc.status or 400
        if exc.code == "training_not_available":
            return APIError(403, message, type="invalid_request_error", code=exc.code)
        if status in (401, 403, 404, 422):
            return APIError(status, message, code=exc.code, param=exc.param)
        if status == 429 or exc.retryable:
            # An upstream provider is busy: say so, and let the client back off and retry.
            return APIError(
                503 if status != 429 else 429,
                message,
                type="server_error",
                code=exc.code,
                headers={"retry-after": "1"},
            )
        return APIError(400, message, code=exc.code, param=exc.param)
    return APIError(400, message)
