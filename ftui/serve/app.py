"""The FastAPI app: OpenAI's fine-tuning API over any ftui provider.

`create_app(provider)` builds it; `ftui serve` runs it with uvicorn, tests run it on a free port in a
thread. Everything under /v1 mirrors OpenAI's paths, objects and errors.

Nothing a client sends makes a 500: bad JSON, bad types and out-of-range values are 400s naming the
parameter; bodies over a route's limit are refused from their declared length (413) before they are
read, and a request without the bearer key is refused (401) from its headers alone; a full disk is
a 507 that says so. Responses never carry a server path or a non-finite number.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui import disk, strict_json
from ftui.errors import FtuiError
from ftui.provider import Provider
from ftui.serve.context import ServeContext
from ftui.serve.errors import APIError, envelope, from_ftui
from ftui.serve.state import ServeState

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("ftui.serve")

# Request bodies: the two upload routes take what OpenAI takes (with room for the multipart
# framing); every other route a JSON body of up to MAX_JSON_BODY.
MAX_JSON_BODY = 16 * 1024 * 1024
_FRAMING = 1024 * 1024
BODY_LIMITS: list[tuple[str, re.Pattern[str], int]] = [
    ("POST", re.compile(r"^/v1/files/?$"), 512 * 1024 * 1024 + _FRAMING),
    ("POST", re.compile(r"^/v1/uploads/[^/]+/parts/?$"), 64 * 1024 * 1024 + _FRAMING),
]


def body_limit(method: str, path: str) -> int:
    for m, pattern, limit in BODY_LIMITS:
        if m == method and pattern.match(path):
            return limit
    return MAX_JSON_BODY


def error_response(err: APIError) -> Any:
    from fastapi.responses import JSONResponse

    headers = dict(err.headers)
    if err.status != 429:
        # Only a busy upstream is worth retrying; the SDK retries every 5xx on its own otherwise.
        headers.setdefault("x-should-retry", "true" if err.retryable else "false")
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


def too_large(limit: int) -> APIError:
    return APIError(
        413,
        f"The request body is too large for this route (at most {limit:,} bytes).",
        code="request_too_large",
    )


class Gate:
    """Outside the routes: a request id on every response; the bearer key checked from the headers
    alone; a body over the route's limit refused from its declared length. Either refusal is sent
    before a byte of the body is read. A body with no declared length is counted as it arrives
    and cut off at the limit."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app, self.api_key = app, api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(16)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        limit = body_limit(scope["method"], scope["path"])
        refusal = self.refusal(scope) or self.oversized(scope, limit)
        if refusal is not None:
            await error_response(refusal)(scope, receive, send_with_id)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send_with_id)

    @staticmethod
    def oversized(scope: Scope, limit: int) -> APIError | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return APIError(400, "Content-Length is not a number.", code="invalid_request")
                return too_large(limit) if declared > limit else None
        return None

    def refusal(self, scope: Scope) -> APIError | None:
        if self.api_key is None:
            return None
        given = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value.decode("latin-1")
        if not given:
            return APIError(
                401,
                "You didn't provide an API key. Provide it in an Authorization header "
                "(Authorization: Bearer YOUR_KEY).",
                code="missing_api_key",
            )
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.encode("utf-8", "surrogateescape"), self.api_key.encode()
        ):
            # Never echo the key back: it may be a real secret pasted in the wrong place.
            return APIError(401, "Incorrect API key provided.", code="invalid_api_key")
        return None


def _param(loc: tuple[Any, ...]) -> str | None:
    """pydantic's location as OpenAI names a parameter: ('body', 'messages', 0, 'role') ->
    messages[0].role."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


def validation_error(errors: list[Any]) -> APIError:
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    param = _param(tuple(first.get("loc", ())))
    if kind == "json_invalid":
        return APIError(400, "We could not parse the JSON body of your request.", code="invalid_json")
    if param is None:
        if kind == "missing":
            return APIError(
                400, "The request has no body: send a JSON object.", code="missing_required_parameter"
            )
        return APIError(400, "The request body must be a JSON object.", code="invalid_request_body")
    if kind == "missing":
        return APIError(
            400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    inner = (first.get("ctx") or {}).get("error")
    reason = getattr(inner, "reason", None) or first.get("msg", "invalid")
    return APIError(400, f"Invalid value for '{param}': {reason}.", param=param, code="invalid_value")


def create_app(
    provider: Provider[Any],
    api_key: str | None = None,
    *,
    state_dir: Path | None = None,
    organization: str = "local",
    min_examples: int = 10,
) -> FastAPI:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from ftui.serve import chat, files, jobs, models, uploads

    ctx = ServeContext(
        provider=provider, state=ServeState(state_dir), organization=organization, min_examples=min_examples
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.stop_work()
        ctx.state.close()

    class StrictJSON(JSONResponse):
        """No NaN or Infinity on the wire (strict parsers reject both); Starlette's own would
        raise on them, a 500."""

        def render(self, content: Any) -> bytes:
            return strict_json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()

    app = FastAPI(
        title="ftui serve",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        default_response_class=StrictJSON,
    )
    app.state.ctx = ctx
    for module in (files, uploads, jobs, models, chat):
        app.include_router(module.router(ctx), prefix="/v1")
    app.add_middleware(Gate, api_key=api_key)

    @app.exception_handler(APIError)
    async def on_api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(FtuiError)
    async def on_ftui_error(request: Request, exc: FtuiError) -> JSONResponse:
        return error_response(from_ftui(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message, code = f"Invalid URL ({request.method} {request.url.path})", None
        elif exc.status_code == 405:
            message, code = f"Method {request.method} is not allowed on {request.url.path}.", None
        elif isinstance(exc.__cause__, BodyTooLarge):  # FastAPI wraps what cut its read short
            return error_response(too_large(exc.__cause__.limit))
        elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # Python's json refuses 100,000-deep nesting and 5000-digit numbers: not JSON we take.
            message, code = "We could not parse the JSON body of your request.", "invalid_json"
        else:
            message, code = str(exc.detail), None
        headers = dict(exc.headers) if exc.headers else None
        return error_response(APIError(exc.status_code, message, code=code, headers=headers))

    @app.exception_handler(BodyTooLarge)
    async def on_too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return error_response(too_large(exc.limit))

    @app.exception_handler(OSError)
    async def on_os_error(request: Request, exc: OSError) -> JSONResponse:
        return await on_unexpected(request, exc)

    @app.exception_handler(sqlite3.OperationalError)
    async def on_db_error(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        return await on_unexpected(request, exc)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if disk.is_full(exc):
            log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
            return error_response(
                APIError(
                    507,
                    "The server's disk is full: it cannot store this request. Ask its operator to "
                    "free space; nothing was changed.",
                    type="server_error",
                    code="insufficient_storage",
                )
            )
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            envelope("The server had an error while processing your request.", "server_error"),
            status_code=500,
            headers={"x-should-retry": "false"},
        )

    return app
