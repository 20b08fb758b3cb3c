"""The FastAPI app: OpenAI's fine-tuning API over any ftui provider.

`create_app(provider)` builds it; `ftui serve` runs it with uvicorn, tests run it on a free port in a
thread. Everything under /v1 mirrors OpenAI's paths, objects and errors.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.errors import FtuiError
from ftui.provider import Provider
from ftui.serve.context import ServeContext
from ftui.serve.errors import APIError, envelope, from_ftui
from ftui.serve.state import ServeState

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("ftui.serve")


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
        ctx.state.close()

    app = FastAPI(title="ftui serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.ctx = ctx
    for module in (files, uploads, jobs, models, chat):
        app.include_router(module.router(ctx), prefix="/v1")

    def error_response(err: APIError, request_id: str | None = None) -> JSONResponse:
        headers = dict(err.headers)
        if err.status not in (429,) and err.status < 500:
            headers.setdefault("x-should-retry", "false")
        return JSONResponse(err.body(), status_code=err.status, headers=headers)

    @app.middleware("http")
    async def request_id_and_auth(request: Request, call_next: Any) -> Any:
        request_id = "req_" + secrets.token_hex(16)
        if api_key is not None:
            given = request.headers.get("authorization", "")
            scheme, _, token = given.partition(" ")
            if not given:
                response = error_response(
                    APIError(
                        401,
                        "You didn't provide an API key. Provide it in an Authorization header "
                        "(Authorization: Bearer YOUR_KEY).",
                        code="missing_api_key",
                    )
                )
            elif scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), api_key.encode()):
                # Never echo the key back: it may be a real secret pasted in the wrong place.
                response = error_response(
                    APIError(401, "Incorrect API key provided.", code="invalid_api_key")
                )
            else:
                response = await call_next(request)
        else:
            response = await call_next(request)
        response.headers["x-request-id"] = request_id
        return response

    @app.exception_handler(APIError)
    async def on_api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(FtuiError)
    async def on_ftui_error(request: Request, exc: FtuiError) -> JSONResponse:
        return error_response(from_ftui(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        param = ".".join(loc) or None
        if first.get("type") == "missing":
            err = APIError(
                400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
            )
        elif first.get("type") == "json_invalid":
            err = APIError(400, "We could not parse the JSON body of your request.", code=None)
        else:
            err = APIError(
                400,
                f"Invalid value for '{param}': {first.get('msg', 'invalid')}.",
                param=param,
                code="invalid_value",
            )
        return error_response(err)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"Invalid URL ({request.method} {request.url.path})"
        else:
            message = str(exc.detail)
        return JSONResponse(
            envelope(message), status_code=exc.status_code, headers={"x-should-retry": "false"}
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            envelope("The server had an error while processing your request.", "server_error"),
            status_code=500,
            headers={"x-should-retry": "false"},
        )

    return app
